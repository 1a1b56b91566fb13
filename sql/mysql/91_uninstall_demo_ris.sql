-- =====================================================================================================
-- 91_uninstall_demo_ris.sql  (MySQL / MariaDB)
--
-- 删除演示 RIS 表（RIS_EXAM、RIS_REPORT、RIS_REPORT_MEASURE、RIS_REPORT_IMAGE）及其中的全部数据（触发器随 RIS_EXAM 一起删除）。
-- 真实 RIS 上绝不要运行。先运行 90_uninstall.sql。可重复执行。
--
-- Drops the demo RIS tables (RIS_EXAM, RIS_REPORT, RIS_REPORT_MEASURE, RIS_REPORT_IMAGE) and all their data (the
-- triggers go with RIS_EXAM). Never run it against a real RIS: there is nothing in it for a DBA to
-- adapt. Run 90_uninstall.sql first. Re-runnable.
-- 注意：Linux 上的 MySQL/MariaDB（lower_case_table_names=0）表名、视图名、触发器名区分大小写；模块的表是小写
-- （rai_task），所以本目录的脚本一律用小写对象名；医院自己的 RIS 表名请按实际大小写书写。
-- Note: on Linux MySQL/MariaDB (lower_case_table_names=0) table, view and trigger names are case-
-- sensitive. The module's tables are lower case (rai_task), so these scripts write every object name
-- in lower case; write the hospital's own RIS table names exactly as they are.
-- =====================================================================================================

DROP TABLE IF EXISTS ris_report_image;
DROP TABLE IF EXISTS ris_report_measure;
DROP TABLE IF EXISTS ris_report;
DROP TABLE IF EXISTS ris_exam;

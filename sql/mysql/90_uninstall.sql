-- =====================================================================================================
-- 90_uninstall.sql  (MySQL / MariaDB)
--
-- 删除检查开始触发器和视图 RAI_V_EXAM。不删除 RAI_* 表（由迁移 ris-ai-module init-db 管理），
-- 也不删除演示 RIS 表（见 91_uninstall_demo_ris.sql）。若改过触发器名或视图名，这里同样修改。可重复执行。
--
-- Drops the exam-start triggers and the view RAI_V_EXAM. Leaves the RAI_* tables (they belong to the
-- migrations, ris-ai-module init-db) and the demo RIS (91_uninstall_demo_ris.sql). A DBA who renamed
-- the triggers or the view changes the names here too. Re-runnable.
-- 注意：Linux 上的 MySQL/MariaDB（lower_case_table_names=0）表名、视图名、触发器名区分大小写；模块的表是小写
-- （rai_task），所以本目录的脚本一律用小写对象名；医院自己的 RIS 表名请按实际大小写书写。
-- Note: on Linux MySQL/MariaDB (lower_case_table_names=0) table, view and trigger names are case-
-- sensitive. The module's tables are lower case (rai_task), so these scripts write every object name
-- in lower case; write the hospital's own RIS table names exactly as they are.
-- =====================================================================================================

DROP TRIGGER IF EXISTS rai_trg_exam_start_ins;
DROP TRIGGER IF EXISTS rai_trg_exam_start_upd;
DROP TRIGGER IF EXISTS rai_trg_exam_name_ins;
DROP TRIGGER IF EXISTS rai_trg_exam_name_upd;
DROP TRIGGER IF EXISTS rai_trg_exam_name_del;
DROP VIEW IF EXISTS rai_v_exam;

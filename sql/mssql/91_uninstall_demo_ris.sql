-- =====================================================================================================
-- 91_uninstall_demo_ris.sql  (SQL Server 2016+; sqlcmd / SSMS)
--
-- 删除演示 RIS 表（RIS_EXAM、RIS_REPORT、RIS_REPORT_MEASURE、RIS_REPORT_IMAGE）及其中的全部数据。真实 RIS 上绝不要运行，
-- DBA 在这里没有要改的。先运行 90_uninstall.sql（视图依赖这些表）。可重复执行。
--
-- Drops the demo RIS tables (RIS_EXAM, RIS_REPORT, RIS_REPORT_MEASURE, RIS_REPORT_IMAGE) and all their data. Never run it
-- against a real RIS: there is nothing in it for a DBA to adapt. Run 90_uninstall.sql first. Re-runnable.
-- =====================================================================================================

DROP TABLE IF EXISTS RIS_REPORT_IMAGE;
DROP TABLE IF EXISTS RIS_REPORT_MEASURE;
DROP TABLE IF EXISTS RIS_REPORT;
DROP TABLE IF EXISTS RIS_EXAM;
GO

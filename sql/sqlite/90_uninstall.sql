-- =====================================================================================================
-- 90_uninstall.sql  (SQLite)
--
-- 删除检查开始触发器和视图 RAI_V_EXAM。不删除 RAI_* 表（由迁移 ris-ai-module init-db 管理），
-- 也不删除演示 RIS 表（见 91_uninstall_demo_ris.sql）。若改过触发器名，这里同样修改。可重复执行。
--
-- Drops the exam-start triggers and the view RAI_V_EXAM. Leaves the RAI_* tables (they belong to the
-- migrations, ris-ai-module init-db) and the demo RIS (91_uninstall_demo_ris.sql). A DBA who renamed
-- the triggers or the view changes the names here too. Re-runnable.
-- =====================================================================================================

DROP TRIGGER IF EXISTS RAI_TRG_EXAM_START_INS;
DROP TRIGGER IF EXISTS RAI_TRG_EXAM_START_UPD;
DROP TRIGGER IF EXISTS RAI_TRG_EXAM_NAME_INS;
DROP TRIGGER IF EXISTS RAI_TRG_EXAM_NAME_UPD;
DROP TRIGGER IF EXISTS RAI_TRG_EXAM_NAME_DEL;
DROP VIEW IF EXISTS RAI_V_EXAM;

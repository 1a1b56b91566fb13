-- =====================================================================================================
-- 90_uninstall.sql  (人大金仓 KingbaseES V8R6+; ksql)
--
-- 删除检查开始触发器、触发器函数和视图 RAI_V_EXAM。不删除 RAI_* 表（由迁移 ris-ai-module init-db
-- 管理），也不删除演示 RIS 表（见 91_uninstall_demo_ris.sql）。若改过表名或对象名，这里同样修改。可重复执行。
--
-- Drops the exam-start triggers, their function and the view RAI_V_EXAM. Leaves the RAI_* tables
-- (they belong to the migrations, ris-ai-module init-db) and the demo RIS (91_uninstall_demo_ris.sql).
-- A DBA who renamed the RIS table or these objects changes the names here too. Re-runnable.
-- =====================================================================================================

DO $$
BEGIN
    -- DROP TRIGGER ... ON a table that is gone fails even with IF EXISTS: check the table first.
    IF to_regclass('RIS_EXAM') IS NOT NULL THEN
        DROP TRIGGER IF EXISTS RAI_TRG_EXAM_START_INS ON RIS_EXAM;
        DROP TRIGGER IF EXISTS RAI_TRG_EXAM_START_UPD ON RIS_EXAM;
        DROP TRIGGER IF EXISTS RAI_TRG_EXAM_NAME_INS ON RIS_EXAM;
        DROP TRIGGER IF EXISTS RAI_TRG_EXAM_NAME_UPD ON RIS_EXAM;
        DROP TRIGGER IF EXISTS RAI_TRG_EXAM_NAME_DEL ON RIS_EXAM;
    END IF;
END;
$$;

DROP FUNCTION IF EXISTS RAI_FN_EXAM_START();

DROP FUNCTION IF EXISTS RAI_FN_EXAM_NAME();

DROP VIEW IF EXISTS RAI_V_EXAM;

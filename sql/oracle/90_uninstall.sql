-- =====================================================================================================
-- 90_uninstall.sql  (Oracle 12c+; SQL*Plus / SQLcl)
--
-- 删除检查开始触发器 RAI_TRG_EXAM_START 和视图 RAI_V_EXAM。不删除 RAI_* 表（由迁移 ris-ai-module
-- init-db 管理），也不删除演示 RIS 表（见 91_uninstall_demo_ris.sql）。对象不存在时跳过。
-- 若改过触发器名或视图名，这里同样修改。可重复执行。
--
-- Drops the exam-start trigger RAI_TRG_EXAM_START and the view RAI_V_EXAM, skipping what is not
-- there. Leaves the RAI_* tables (they belong to the migrations, ris-ai-module init-db) and the demo
-- RIS (91_uninstall_demo_ris.sql). A DBA who renamed the trigger or the view changes the names here
-- too. Re-runnable.
-- =====================================================================================================

BEGIN
    FOR o IN (SELECT OBJECT_TYPE, OBJECT_NAME FROM USER_OBJECTS
              WHERE (OBJECT_TYPE = 'TRIGGER' AND OBJECT_NAME IN ('RAI_TRG_EXAM_START', 'RAI_TRG_EXAM_NAME'))
                 OR (OBJECT_TYPE = 'VIEW' AND OBJECT_NAME = 'RAI_V_EXAM'))
    LOOP
        EXECUTE IMMEDIATE 'DROP ' || o.OBJECT_TYPE || ' ' || o.OBJECT_NAME;
    END LOOP;
END;
/

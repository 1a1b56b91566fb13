-- =====================================================================================================
-- 31_trigger_name_index.sql  (Oracle 12.1+)
--
-- 姓名检索触发器：RIS_EXAM 新增、删除，或更新 PATIENT_NAME / EXAM_DATE / EXAM_ID 时，把 EXAM_KEY 插入
-- RAI_NAME_QUEUE（改检查号时新旧都插入）；模块每 http.name_queue_interval（默认 5 秒）据此重建检索词。
-- 只有 INSERT，在 RIS 自己的事务里执行，以触发器所有者的权限插入。不装本脚本时模块按
-- http.name_rescan_interval 定期比对。DBA 需要修改：表名 RIS_EXAM，列名 PATIENT_NAME / EXAM_DATE / EXAM_ID
-- （视图 RAI_V_EXAM 的来源列；数字主键用 TO_CHAR(:NEW.x)）；姓名在患者表时在患者表上建同样的触发器。
--
-- Name-index trigger: a row of RIS_EXAM inserted or deleted, or an UPDATE OF PATIENT_NAME, EXAM_DATE or
-- EXAM_ID, queues the exam's key in RAI_NAME_QUEUE (both keys when the key changes); the module applies
-- the queue every http.name_queue_interval (5 s). "UPDATE OF" fires when a column is set, even to the same
-- value: that costs one queue row and the module finds nothing to rebuild. One trigger, one INSERT per
-- row, with the owner's rights. Change the table and column names to fit (TO_CHAR(:NEW.x) for a number
-- key). Written from the Oracle Database PL/SQL Language Reference (conditional predicates INSERTING,
-- UPDATING, DELETING); not run here (no Oracle server). Re-runnable. Removal: 90_uninstall.sql.
-- =====================================================================================================

CREATE OR REPLACE TRIGGER RAI_TRG_EXAM_NAME
AFTER INSERT OR DELETE OR UPDATE OF PATIENT_NAME, EXAM_DATE, EXAM_ID ON RIS_EXAM
FOR EACH ROW
DECLARE
    v_now  TIMESTAMP(6) := SYS_EXTRACT_UTC(SYSTIMESTAMP);
BEGIN
    IF UPDATING OR DELETING THEN
        INSERT INTO RAI_NAME_QUEUE (EXAM_KEY, QUEUED_AT) VALUES (:OLD.EXAM_ID, v_now);
    END IF;
    IF INSERTING OR (UPDATING AND :NEW.EXAM_ID <> :OLD.EXAM_ID) THEN
        INSERT INTO RAI_NAME_QUEUE (EXAM_KEY, QUEUED_AT) VALUES (:NEW.EXAM_ID, v_now);
    END IF;
END;
/

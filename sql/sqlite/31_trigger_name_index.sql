-- =====================================================================================================
-- 31_trigger_name_index.sql  (SQLite 3)
--
-- 姓名检索触发器：RIS_EXAM 新增、删除，或 PATIENT_NAME / EXAM_DATE / EXAM_ID 改变时，把 EXAM_KEY 插入
-- RAI_NAME_QUEUE（改检查号时新旧都插入）；模块每 http.name_queue_interval（默认 5 秒）据此重建检索词。
-- DBA 需要修改的地方：表名 RIS_EXAM、列名 PATIENT_NAME / EXAM_DATE / EXAM_ID（与视图 RAI_V_EXAM 的来源列相同）。
--
-- Name-index trigger: a row of RIS_EXAM inserted or deleted, or its PATIENT_NAME, EXAM_DATE or EXAM_ID
-- changed, queues the exam's key in RAI_NAME_QUEUE (both keys when the key changes); the module applies the
-- queue every http.name_queue_interval (5 s). Change the table and column names to fit (the view's
-- sources). Timestamps UTC. Re-runnable. Removal: 90_uninstall.sql.
-- =====================================================================================================

DROP TRIGGER IF EXISTS RAI_TRG_EXAM_NAME_INS;

CREATE TRIGGER RAI_TRG_EXAM_NAME_INS
AFTER INSERT ON RIS_EXAM
FOR EACH ROW
BEGIN
    INSERT INTO RAI_NAME_QUEUE (EXAM_KEY, QUEUED_AT)
    VALUES (NEW.EXAM_ID, strftime('%Y-%m-%d %H:%M:%f', 'now') || '000');
END;

DROP TRIGGER IF EXISTS RAI_TRG_EXAM_NAME_UPD;

CREATE TRIGGER RAI_TRG_EXAM_NAME_UPD
AFTER UPDATE ON RIS_EXAM
FOR EACH ROW
WHEN NEW.PATIENT_NAME IS NOT OLD.PATIENT_NAME OR NEW.EXAM_DATE IS NOT OLD.EXAM_DATE
     OR NEW.EXAM_ID IS NOT OLD.EXAM_ID
BEGIN
    INSERT INTO RAI_NAME_QUEUE (EXAM_KEY, QUEUED_AT)
    VALUES (OLD.EXAM_ID, strftime('%Y-%m-%d %H:%M:%f', 'now') || '000');
    INSERT INTO RAI_NAME_QUEUE (EXAM_KEY, QUEUED_AT)
    SELECT NEW.EXAM_ID, strftime('%Y-%m-%d %H:%M:%f', 'now') || '000' WHERE NEW.EXAM_ID IS NOT OLD.EXAM_ID;
END;

DROP TRIGGER IF EXISTS RAI_TRG_EXAM_NAME_DEL;

CREATE TRIGGER RAI_TRG_EXAM_NAME_DEL
AFTER DELETE ON RIS_EXAM
FOR EACH ROW
BEGIN
    INSERT INTO RAI_NAME_QUEUE (EXAM_KEY, QUEUED_AT)
    VALUES (OLD.EXAM_ID, strftime('%Y-%m-%d %H:%M:%f', 'now') || '000');
END;

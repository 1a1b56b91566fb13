-- =====================================================================================================
-- 31_trigger_name_index.sql  (SQL Server 2016 SP1+)
--
-- 姓名检索触发器（语句级，读 inserted / deleted）：RIS_EXAM 新增、删除，或 PATIENT_NAME / EXAM_DATE
-- 改变时，把 EXAM_KEY 插入 RAI_NAME_QUEUE；模块每 http.name_queue_interval（默认 5 秒）据此重建检索词。
-- DBA 需要修改：表名 RIS_EXAM，列名 PATIENT_NAME / EXAM_DATE / EXAM_ID（视图 RAI_V_EXAM 的来源列）。
--
-- Name-index trigger, statement level over inserted/deleted: rows of RIS_EXAM inserted or deleted, or whose
-- PATIENT_NAME or EXAM_DATE changed (NULL-safe: EXISTS ... EXCEPT), queue their keys in RAI_NAME_QUEUE; a
-- changed EXAM_ID shows as the old key deleted and the new one inserted. The module applies the queue
-- every http.name_queue_interval (5 s). Change the table and column names to fit. Written from the
-- Transact-SQL reference (CREATE OR ALTER TRIGGER, SQL Server 2016 SP1); not run here (no server).
-- Run with sqlcmd (GO ends a batch). Re-runnable. Removal: 90_uninstall.sql.
-- =====================================================================================================

CREATE OR ALTER TRIGGER RAI_TRG_EXAM_NAME ON RIS_EXAM
AFTER INSERT, UPDATE, DELETE
AS
BEGIN
    SET NOCOUNT ON;
    INSERT INTO RAI_NAME_QUEUE (EXAM_KEY, QUEUED_AT)
    SELECT d.EXAM_ID, SYSUTCDATETIME()
    FROM deleted d
    LEFT JOIN inserted i ON i.EXAM_ID = d.EXAM_ID
    WHERE i.EXAM_ID IS NULL
       OR EXISTS (SELECT i.PATIENT_NAME, i.EXAM_DATE EXCEPT SELECT d.PATIENT_NAME, d.EXAM_DATE)
    UNION ALL
    SELECT i.EXAM_ID, SYSUTCDATETIME()
    FROM inserted i
    LEFT JOIN deleted d ON d.EXAM_ID = i.EXAM_ID
    WHERE d.EXAM_ID IS NULL;
END;
GO

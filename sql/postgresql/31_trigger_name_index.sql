-- =====================================================================================================
-- 31_trigger_name_index.sql  (PostgreSQL 13+)
--
-- 姓名检索触发器：RIS_EXAM 新增一行、删除一行，或修改了患者姓名 PATIENT_NAME / 检查时间 EXAM_DATE /
-- 检查号 EXAM_ID 时，向 RAI_NAME_QUEUE 插入该检查的 EXAM_KEY（改检查号时新旧两个都插入）。模块每
-- http.name_queue_interval（默认 5 秒）读取队列，重新生成这些检查的检索词（姓名改正后一分钟内可按新名查到）。
-- 触发器只有 INSERT，不做查询，在 RIS 自己的事务里执行；函数为 SECURITY DEFINER（RIS 账号不需要
-- RAI_NAME_QUEUE 的权限）。不装本脚本时（不允许触发器），模块按 http.name_rescan_interval 定期比对。
-- DBA 需要修改的地方：
--   1. 表名 RIS_EXAM（三个 CREATE TRIGGER）；
--   2. 列名 PATIENT_NAME、EXAM_DATE、EXAM_ID：与视图 RAI_V_EXAM 的 PATIENT_NAME、EXAM_DATE、EXAM_KEY 来源相同；
--      EXAM_ID 必须与视图的 EXAM_KEY 取值相同（整数主键用 ::varchar）；
--   3. 姓名在另一张表（如患者表）时，在那张表上建同样的 UPDATE 触发器，插入该患者所有检查的 EXAM_KEY。
--
-- Name-index trigger: when a row of RIS_EXAM is inserted or deleted, or its PATIENT_NAME, EXAM_DATE or
-- EXAM_ID changes, the exam's key goes into RAI_NAME_QUEUE (both keys when the key itself changes). The
-- module reads the queue every http.name_queue_interval (5 s) and rebuilds those exams' search terms, so a
-- corrected name is found under its new name within seconds. One INSERT, no look-ups, inside the RIS
-- transaction; SECURITY DEFINER, so the RIS account needs no grant on RAI_NAME_QUEUE. Without this script
-- (no triggers allowed) the module's rescan (http.name_rescan_interval) finds the changes instead.
-- What a DBA changes: the table RIS_EXAM (three CREATE TRIGGER), the columns PATIENT_NAME, EXAM_DATE and
-- EXAM_ID (the sources of the view's PATIENT_NAME, EXAM_DATE, EXAM_KEY; NEW.x::varchar for a number key);
-- where the name lives in another table (a patient table), the same UPDATE trigger there, queueing the keys
-- of that patient's exams. Run it with a search_path that finds RAI_NAME_QUEUE. Re-runnable.
-- Removal: 90_uninstall.sql.
-- =====================================================================================================

CREATE OR REPLACE FUNCTION RAI_FN_EXAM_NAME() RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO RAI_NAME_QUEUE (EXAM_KEY, QUEUED_AT) VALUES (OLD.EXAM_ID, now() AT TIME ZONE 'utc');
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.EXAM_ID IS DISTINCT FROM OLD.EXAM_ID) THEN
        INSERT INTO RAI_NAME_QUEUE (EXAM_KEY, QUEUED_AT) VALUES (NEW.EXAM_ID, now() AT TIME ZONE 'utc');
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS RAI_TRG_EXAM_NAME_INS ON RIS_EXAM;

CREATE TRIGGER RAI_TRG_EXAM_NAME_INS
AFTER INSERT ON RIS_EXAM
FOR EACH ROW
EXECUTE FUNCTION RAI_FN_EXAM_NAME();

DROP TRIGGER IF EXISTS RAI_TRG_EXAM_NAME_UPD ON RIS_EXAM;

CREATE TRIGGER RAI_TRG_EXAM_NAME_UPD
AFTER UPDATE ON RIS_EXAM
FOR EACH ROW
WHEN (NEW.PATIENT_NAME IS DISTINCT FROM OLD.PATIENT_NAME OR NEW.EXAM_DATE IS DISTINCT FROM OLD.EXAM_DATE
      OR NEW.EXAM_ID IS DISTINCT FROM OLD.EXAM_ID)
EXECUTE FUNCTION RAI_FN_EXAM_NAME();

DROP TRIGGER IF EXISTS RAI_TRG_EXAM_NAME_DEL ON RIS_EXAM;

CREATE TRIGGER RAI_TRG_EXAM_NAME_DEL
AFTER DELETE ON RIS_EXAM
FOR EACH ROW
EXECUTE FUNCTION RAI_FN_EXAM_NAME();

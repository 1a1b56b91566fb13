-- =====================================================================================================
-- 30_trigger_exam_start.sql  (达梦 DM8; disql)
--
-- 检查开始触发器：RIS_EXAM 的 EXAM_STATUS 变为 'STARTED'（UPDATE 改为 STARTED，或 INSERT 时就是
-- STARTED）时，向 RAI_TASK 插入且只插入一行 EXAM_PUSH 任务。状态保持 STARTED 的 UPDATE、修改其它列的
-- UPDATE 都不产生任务。STARTED -> FINISHED -> STARTED 算一次新的开始，会再产生一个任务。
-- 触发器只有一条 INSERT，不做任何查询；它在 RIS 自己的事务里执行：RIS 提交则任务存在，回滚则没有。
-- 不用 DBMS_ALERT（它会让所有 RIS 检查事务串行）；模块轮询 RAI_TASK。
-- 触发器以其所有者的权限执行：RIS 应用账号不需要 RAI_TASK 的权限；RAI_TASK 在别的模式时，
-- 写成 模式名.RAI_TASK，并授予触发器所有者对它的 INSERT 权限。
-- DBA 需要修改的地方：
--   1. 表名 RIS_EXAM、状态列 EXAM_STATUS 和"已开始"的状态值 'STARTED'（WHEN 子句里两处）；
--   2. :NEW.EXAM_ID：必须与视图 RAI_V_EXAM 的 EXAM_KEY 取值相同（NUMBER 主键用 TO_CHAR(:NEW.X)）；
--   3. RAI_TASK 的列和其它值不要改。
--
-- Exam-start trigger: when RIS_EXAM.EXAM_STATUS becomes 'STARTED' (an UPDATE to STARTED, or an
-- INSERT already STARTED) it inserts exactly one EXAM_PUSH row into RAI_TASK. An UPDATE that keeps
-- STARTED or changes other columns inserts nothing. STARTED -> FINISHED -> STARTED is a new start and
-- makes a second task. One INSERT, no look-ups; it runs inside the RIS transaction, so the task exists
-- if and only if the RIS change commits. No DBMS_ALERT (it serialises every RIS exam transaction): the
-- module polls RAI_TASK. The trigger runs with its owner's rights, so the RIS application's account
-- needs no grant on RAI_TASK; if RAI_TASK lives in another schema write <schema>.RAI_TASK and grant
-- the trigger's owner INSERT on it. What a DBA changes to fit their own RIS tables:
--   1. the table RIS_EXAM, the status column EXAM_STATUS and the started value 'STARTED' (twice in
--      the WHEN clause);
--   2. :NEW.EXAM_ID: must equal the view's EXAM_KEY for the same exam (TO_CHAR(:NEW.x) for a NUMBER);
--   3. nothing else: RAI_TASK's columns and values are the module's contract.
-- TASK_UUID is SYS_GUID() (DM returns 32 hex characters) written as lower-case 8-4-4-4-12 hex (unique;
-- not an RFC 4122 version). 达梦的 SYS_GUID() 返回 32 位十六进制字符串，这里改写为 8-4-4-4-12 小写格式。
-- Timestamps are UTC with microseconds. Re-runnable. Removal: 90_uninstall.sql.
-- =====================================================================================================

CREATE OR REPLACE TRIGGER RAI_TRG_EXAM_START
AFTER INSERT OR UPDATE ON RIS_EXAM
FOR EACH ROW
WHEN (NEW.EXAM_STATUS = 'STARTED' AND (OLD.EXAM_STATUS IS NULL OR OLD.EXAM_STATUS <> 'STARTED'))
DECLARE
    v_hex  VARCHAR(32) := LOWER(SYS_GUID());
    v_now  TIMESTAMP(6) := SYS_EXTRACT_UTC(SYSTIMESTAMP);
BEGIN
    -- On INSERT every OLD column is NULL, so the WHEN clause covers both events.
    INSERT INTO RAI_TASK (TASK_UUID, KIND, STATUS, EXAM_KEY, ATTEMPTS, NEXT_RUN_AT, CREATED_AT, UPDATED_AT)
    VALUES (SUBSTR(v_hex, 1, 8) || '-' || SUBSTR(v_hex, 9, 4) || '-' || SUBSTR(v_hex, 13, 4) || '-'
                || SUBSTR(v_hex, 17, 4) || '-' || SUBSTR(v_hex, 21, 12),
            'EXAM_PUSH', 'SCHEDULED', :NEW.EXAM_ID, 0, v_now, v_now, v_now);
END;
/

-- =====================================================================================================
-- 30_trigger_exam_start.sql  (SQLite)
--
-- 检查开始触发器：RIS_EXAM 的 EXAM_STATUS 变为 'STARTED'（UPDATE 改为 STARTED，或 INSERT 时就是
-- STARTED）时，向 RAI_TASK 插入且只插入一行 EXAM_PUSH 任务；之后由模块把检查推送给 AI 主机。
-- 状态保持 STARTED 的 UPDATE、修改其它列的 UPDATE 都不产生任务。STARTED -> FINISHED -> STARTED
-- 算一次新的开始，会再产生一个任务（AI 主机用新的 Idempotency-Key 再收到一次推送）。
-- 触发器只有一条 INSERT，不做任何查询；它在 RIS 自己的事务里执行：RIS 提交则任务存在，回滚则没有。
-- DBA 需要修改的地方：
--   1. 表名 RIS_EXAM、状态列 EXAM_STATUS 和"已开始"的状态值 'STARTED'（两个触发器里都要改）；
--   2. NEW.EXAM_ID：必须与视图 RAI_V_EXAM 的 EXAM_KEY 取值相同（整数主键用 CAST(NEW.X AS TEXT)）；
--   3. RAI_TASK 的列和其它值不要改。
--
-- Exam-start trigger: when RIS_EXAM.EXAM_STATUS becomes 'STARTED' (an UPDATE to STARTED, or an
-- INSERT already STARTED) it inserts exactly one EXAM_PUSH row into RAI_TASK; the module then pushes
-- the exam to the AI host. An UPDATE that keeps STARTED or changes other columns inserts nothing.
-- STARTED -> FINISHED -> STARTED is a new start and makes a second task (a new push with a new
-- Idempotency-Key). One INSERT, no look-ups; it runs inside the RIS transaction, so the task exists
-- if and only if the RIS change commits. What a DBA changes to fit their own RIS tables:
--   1. the table RIS_EXAM, the status column EXAM_STATUS and the started value 'STARTED' (in both
--      triggers);
--   2. NEW.EXAM_ID: must equal the view's EXAM_KEY for the same exam (CAST an integer AS TEXT);
--   3. nothing else: RAI_TASK's columns and values are the module's contract.
-- TASK_UUID is a random (version 4) UUID; timestamps are UTC with microseconds, as
-- 'YYYY-MM-DD HH:MM:SS.ffffff'. Re-runnable. Removal: 90_uninstall.sql.
-- =====================================================================================================

DROP TRIGGER IF EXISTS RAI_TRG_EXAM_START_INS;

CREATE TRIGGER RAI_TRG_EXAM_START_INS
AFTER INSERT ON RIS_EXAM
FOR EACH ROW
WHEN NEW.EXAM_STATUS = 'STARTED'
BEGIN
    INSERT INTO RAI_TASK (TASK_UUID, KIND, STATUS, EXAM_KEY, ATTEMPTS, NEXT_RUN_AT, CREATED_AT, UPDATED_AT)
    VALUES (
        lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
            || substr(lower(hex(randomblob(2))), 2) || '-'
            || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-'
            || lower(hex(randomblob(6))),
        'EXAM_PUSH', 'SCHEDULED', NEW.EXAM_ID, 0,
        strftime('%Y-%m-%d %H:%M:%f', 'now') || '000',
        strftime('%Y-%m-%d %H:%M:%f', 'now') || '000',
        strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'
    );
END;

DROP TRIGGER IF EXISTS RAI_TRG_EXAM_START_UPD;

CREATE TRIGGER RAI_TRG_EXAM_START_UPD
AFTER UPDATE ON RIS_EXAM
FOR EACH ROW
WHEN NEW.EXAM_STATUS = 'STARTED' AND (OLD.EXAM_STATUS IS NULL OR OLD.EXAM_STATUS <> 'STARTED')
BEGIN
    INSERT INTO RAI_TASK (TASK_UUID, KIND, STATUS, EXAM_KEY, ATTEMPTS, NEXT_RUN_AT, CREATED_AT, UPDATED_AT)
    VALUES (
        lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
            || substr(lower(hex(randomblob(2))), 2) || '-'
            || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-'
            || lower(hex(randomblob(6))),
        'EXAM_PUSH', 'SCHEDULED', NEW.EXAM_ID, 0,
        strftime('%Y-%m-%d %H:%M:%f', 'now') || '000',
        strftime('%Y-%m-%d %H:%M:%f', 'now') || '000',
        strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'
    );
END;

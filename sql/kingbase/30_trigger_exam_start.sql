-- =====================================================================================================
-- 30_trigger_exam_start.sql  (人大金仓 KingbaseES V8R6+; ksql)
--
-- 检查开始触发器：RIS_EXAM 的 EXAM_STATUS 变为 'STARTED'（UPDATE 改为 STARTED，或 INSERT 时就是
-- STARTED）时，向 RAI_TASK 插入且只插入一行 EXAM_PUSH 任务（不发通知：模块按 worker.idle_wait
-- 轮询 RAI_TASK）。状态保持 STARTED 的 UPDATE、修改其它列的 UPDATE 都不产生任务。
-- STARTED -> FINISHED -> STARTED 算一次新的开始，会再产生一个任务。
-- 触发器只有一条 INSERT，不做任何查询；它在 RIS 自己的事务里执行：RIS 提交则任务存在，回滚则没有。
-- 函数为 SECURITY DEFINER：以函数所有者（运行本脚本、拥有 RAI_TASK 的账号）的权限插入任务，
-- RIS 应用账号不需要 RAI_TASK 的任何权限；search_path 固定为创建时的值。
-- DBA 需要修改的地方：
--   1. 表名 RIS_EXAM（两个 CREATE TRIGGER）、状态列 EXAM_STATUS 和"已开始"的状态值 'STARTED'（两个 WHEN）；
--   2. NEW.EXAM_ID：必须与视图 RAI_V_EXAM 的 EXAM_KEY 取值相同（整数主键用 NEW.X::varchar）；
--   3. RAI_TASK 的列和其它值不要改。运行本脚本时的 search_path 须能找到 RAI_TASK。
--
-- Exam-start trigger: when RIS_EXAM.EXAM_STATUS becomes 'STARTED' (an UPDATE to STARTED, or an
-- INSERT already STARTED) it inserts exactly one EXAM_PUSH row into RAI_TASK (no notification: the
-- module polls RAI_TASK every worker.idle_wait seconds; set worker.pg_notify = false). An UPDATE
-- that keeps STARTED or changes other columns inserts nothing. STARTED -> FINISHED -> STARTED is a
-- new start and makes a second task. One INSERT, no look-ups; it runs inside the RIS transaction, so
-- the task exists if and only if the RIS change commits. The function is SECURITY DEFINER: it inserts
-- with the rights of its owner (who runs this script and owns RAI_TASK), so the RIS application's own
-- database user needs no grant on RAI_TASK; its search_path is pinned to the one in force now.
-- What a DBA changes to fit their own RIS tables:
--   1. the table RIS_EXAM (both CREATE TRIGGER), the status column EXAM_STATUS and the started value
--      'STARTED' (both WHEN clauses);
--   2. NEW.EXAM_ID: must equal the view's EXAM_KEY for the same exam (NEW.x::varchar for a number);
--   3. nothing else: RAI_TASK's columns and values are the module's contract. Run this script with a
--      search_path that finds RAI_TASK.
-- Differences from sql/postgresql: the UUID is built from md5() (a version-4 layout) because
-- gen_random_uuid() needs pgcrypto on KingbaseES V8R6 (PostgreSQL 12 based); EXECUTE PROCEDURE (V8R3
-- has no EXECUTE FUNCTION); no pg_notify. 与 PostgreSQL 版的区别：UUID 用 md5() 生成（V8R6 没有内置
-- gen_random_uuid()），触发器写 EXECUTE PROCEDURE，不发 pg_notify。
-- Timestamps are UTC at the start of the RIS transaction. Re-runnable. Removal: 90_uninstall.sql.
-- =====================================================================================================

CREATE OR REPLACE FUNCTION RAI_FN_EXAM_START() RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
BEGIN
    INSERT INTO RAI_TASK (TASK_UUID, KIND, STATUS, EXAM_KEY, ATTEMPTS, NEXT_RUN_AT, CREATED_AT, UPDATED_AT)
    VALUES (uuid_in(overlay(overlay(md5(random()::text || clock_timestamp()::text || NEW.EXAM_ID)
                    placing '4' from 13) placing substr('89ab', 1 + floor(random() * 4)::int, 1) from 17)::cstring)::text,
            'EXAM_PUSH', 'SCHEDULED', NEW.EXAM_ID, 0,
            now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc');
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS RAI_TRG_EXAM_START_INS ON RIS_EXAM;

CREATE TRIGGER RAI_TRG_EXAM_START_INS
AFTER INSERT ON RIS_EXAM
FOR EACH ROW
WHEN (NEW.EXAM_STATUS = 'STARTED')
EXECUTE PROCEDURE RAI_FN_EXAM_START();

DROP TRIGGER IF EXISTS RAI_TRG_EXAM_START_UPD ON RIS_EXAM;

CREATE TRIGGER RAI_TRG_EXAM_START_UPD
AFTER UPDATE ON RIS_EXAM
FOR EACH ROW
WHEN (NEW.EXAM_STATUS = 'STARTED' AND OLD.EXAM_STATUS IS DISTINCT FROM 'STARTED')
EXECUTE PROCEDURE RAI_FN_EXAM_START();

-- =====================================================================================================
-- 30_trigger_exam_start.sql  (MySQL 5.7.2+ / MariaDB 10.2.3+)
--
-- 检查开始触发器：RIS_EXAM 的 EXAM_STATUS 变为 'STARTED'（UPDATE 改为 STARTED，或 INSERT 时就是
-- STARTED）时，向 RAI_TASK 插入且只插入一行 EXAM_PUSH 任务。状态保持 STARTED 的 UPDATE、修改其它列的
-- UPDATE 都不产生任务。STARTED -> FINISHED -> STARTED 算一次新的开始，会再产生一个任务。
-- 触发器只有一条 INSERT，不做任何查询；它在 RIS 自己的事务里执行（RIS 表须为 InnoDB）：RIS 提交则任务存在，
-- 回滚则没有。触发器以定义者（DEFINER，即运行本脚本的账号）的权限执行，RIS 应用账号不需要 RAI_TASK 的权限。
-- 用 mysql 命令行客户端执行（DELIMITER 是客户端命令）。
-- DBA 需要修改的地方：
--   1. 表名 RIS_EXAM（两个触发器）、状态列 EXAM_STATUS 和"已开始"的状态值 'STARTED'（两个 IF）；
--   2. NEW.EXAM_ID：必须与视图 RAI_V_EXAM 的 EXAM_KEY 取值相同（整数主键用 CAST(NEW.X AS CHAR(64))）；
--   3. RAI_TASK 的列和其它值不要改。
-- 注意：开启 binlog 时创建触发器需要 TRIGGER 权限，MySQL 还可能需要 SUPER 或 log_bin_trust_function_creators=1；
-- UUID() 在 STATEMENT 格式的 binlog 下不安全，请用 ROW 或 MIXED 格式（MySQL 8 默认 ROW）。
--
-- Exam-start trigger: when RIS_EXAM.EXAM_STATUS becomes 'STARTED' (an UPDATE to STARTED, or an
-- INSERT already STARTED) it inserts exactly one EXAM_PUSH row into RAI_TASK. An UPDATE that keeps
-- STARTED or changes other columns inserts nothing. STARTED -> FINISHED -> STARTED is a new start and
-- makes a second task. One INSERT, no look-ups; it runs inside the RIS transaction (the RIS tables
-- must be InnoDB), so the task exists if and only if the RIS change commits. Triggers run with their
-- DEFINER's rights (the account running this script): the RIS application's account needs no grant
-- on RAI_TASK. Run with the mysql command-line client (DELIMITER is a client command).
-- What a DBA changes to fit their own RIS tables:
--   1. the table RIS_EXAM (both triggers), the status column EXAM_STATUS and the started value
--      'STARTED' (both IF conditions);
--   2. NEW.EXAM_ID: must equal the view's EXAM_KEY for the same exam (CAST(NEW.x AS CHAR(64)));
--   3. nothing else: RAI_TASK's columns and values are the module's contract.
-- Note: with binary logging on, creating a trigger needs the TRIGGER privilege and on MySQL possibly
-- SUPER or log_bin_trust_function_creators=1; UUID() is unsafe for STATEMENT-format binlogs: use ROW
-- or MIXED (ROW is the MySQL 8 default). UUID() gives a time-based (version 1) UUID, lower case.
-- Timestamps are UTC with microseconds. Re-runnable. Removal: 90_uninstall.sql.
-- 注意：Linux 上的 MySQL/MariaDB（lower_case_table_names=0）表名、视图名、触发器名区分大小写；模块的表是小写
-- （rai_task），所以本目录的脚本一律用小写对象名；医院自己的 RIS 表名请按实际大小写书写。
-- Note: on Linux MySQL/MariaDB (lower_case_table_names=0) table, view and trigger names are case-
-- sensitive. The module's tables are lower case (rai_task), so these scripts write every object name
-- in lower case; write the hospital's own RIS table names exactly as they are.
-- =====================================================================================================

DROP TRIGGER IF EXISTS rai_trg_exam_start_ins;
DROP TRIGGER IF EXISTS rai_trg_exam_start_upd;

DELIMITER //

CREATE TRIGGER rai_trg_exam_start_ins
AFTER INSERT ON ris_exam
FOR EACH ROW
BEGIN
    IF NEW.EXAM_STATUS = 'STARTED' THEN
        INSERT INTO rai_task (TASK_UUID, KIND, STATUS, EXAM_KEY, ATTEMPTS, NEXT_RUN_AT, CREATED_AT, UPDATED_AT)
        VALUES (UUID(), 'EXAM_PUSH', 'SCHEDULED', NEW.EXAM_ID, 0,
                UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
    END IF;
END//

CREATE TRIGGER rai_trg_exam_start_upd
AFTER UPDATE ON ris_exam
FOR EACH ROW
BEGIN
    -- <=> is NULL-safe: a NULL old status counts as "not started"
    IF NEW.EXAM_STATUS = 'STARTED' AND NOT (OLD.EXAM_STATUS <=> 'STARTED') THEN
        INSERT INTO rai_task (TASK_UUID, KIND, STATUS, EXAM_KEY, ATTEMPTS, NEXT_RUN_AT, CREATED_AT, UPDATED_AT)
        VALUES (UUID(), 'EXAM_PUSH', 'SCHEDULED', NEW.EXAM_ID, 0,
                UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
    END IF;
END//

DELIMITER ;

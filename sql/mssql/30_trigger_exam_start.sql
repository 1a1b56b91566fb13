-- =====================================================================================================
-- 30_trigger_exam_start.sql  (SQL Server 2016 SP1+; sqlcmd / SSMS)
--
-- 检查开始触发器：RIS_EXAM 的 EXAM_STATUS 变为 'STARTED'（UPDATE 改为 STARTED，或 INSERT 时就是
-- STARTED）时，每个这样的检查向 RAI_TASK 插入且只插入一行 EXAM_PUSH 任务。SQL Server 的触发器按语句
-- 触发：inserted / deleted 两张伪表里可能有多行，所以这里是一条 INSERT ... SELECT，按行比较新旧状态。
-- 状态保持 STARTED 的 UPDATE、修改其它列的 UPDATE 都不产生任务；STARTED -> FINISHED -> STARTED 会再产生一个。
-- 触发器在 RIS 自己的事务里执行：RIS 提交则任务存在，回滚则没有。
-- DBA 需要修改的地方：
--   1. 表名 RIS_EXAM、主键列 EXAM_ID（ON 子句里两处）、状态列 EXAM_STATUS 和"已开始"的状态值 'STARTED'；
--   2. i.EXAM_ID：必须与视图 RAI_V_EXAM 的 EXAM_KEY 取值相同（数字主键用 CAST(i.X AS NVARCHAR(64))）；
--   3. RAI_TASK 的列和其它值不要改。RAI_TASK 在别的架构时写成 架构名.RAI_TASK。
--
-- Exam-start trigger: when RIS_EXAM.EXAM_STATUS becomes 'STARTED' (an UPDATE to STARTED, or an INSERT
-- already STARTED) it inserts exactly one EXAM_PUSH row into RAI_TASK per such exam. SQL Server fires
-- once per statement with possibly many rows in inserted/deleted, so this is one INSERT ... SELECT that
-- compares each row's old and new status. An UPDATE that keeps STARTED or changes other columns
-- inserts nothing; STARTED -> FINISHED -> STARTED makes a second task. It runs inside the RIS
-- transaction: the task exists if and only if the RIS change commits.
-- What a DBA changes to fit their own RIS tables:
--   1. the table RIS_EXAM, its key EXAM_ID (twice in the ON clause), the status column EXAM_STATUS
--      and the started value 'STARTED';
--   2. i.EXAM_ID: must equal the view's EXAM_KEY (CAST(i.x AS NVARCHAR(64)) for a numeric key);
--   3. nothing else: RAI_TASK's columns and values are the module's contract.
-- TASK_UUID is NEWID() (RFC 4122 version 4). Timestamps are UTC (SYSUTCDATETIME()). Re-runnable.
-- Removal: 90_uninstall.sql.
-- =====================================================================================================

CREATE OR ALTER TRIGGER RAI_TRG_EXAM_START ON RIS_EXAM
AFTER INSERT, UPDATE
AS
BEGIN
    SET NOCOUNT ON;
    INSERT INTO RAI_TASK (TASK_UUID, KIND, STATUS, EXAM_KEY, ATTEMPTS, NEXT_RUN_AT, CREATED_AT, UPDATED_AT)
    SELECT LOWER(CONVERT(NVARCHAR(36), NEWID())), N'EXAM_PUSH', N'SCHEDULED', i.EXAM_ID, 0,
           SYSUTCDATETIME(), SYSUTCDATETIME(), SYSUTCDATETIME()
    FROM inserted i
    LEFT JOIN deleted d ON d.EXAM_ID = i.EXAM_ID
    WHERE i.EXAM_STATUS = N'STARTED' AND (d.EXAM_STATUS IS NULL OR d.EXAM_STATUS <> N'STARTED');
END;
GO

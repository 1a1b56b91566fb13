-- =====================================================================================================
-- 40_grants.sql  (Oracle 12c+; SQL*Plus / SQLcl)
--
-- 为模块创建最小权限账号：视图 RAI_V_EXAM 只读；RAI_* 表读写删；报告表读、插入、更新；键值测量表（RIS_REPORT_MEASURE）另可删除——rows 目标用新 SR 的值替换模块自己写过的行时要删除旧行（医生录入或修改过的行不删）。
-- 模块账号读不到任何 RIS 原始表。以拥有这些对象的账号（运行 10/20/30 脚本和迁移的账号）执行。
-- 模块账号访问的对象在别的模式中：要么在模块连接后 ALTER SESSION SET CURRENT_SCHEMA = 对象所有者，
-- 要么为模块账号建同义词（见文末注释）。
-- DBA 需要修改的地方：
--   1. 账号名 RAI_MODULE（全文替换）；取消 CREATE USER / GRANT CREATE SESSION 的注释并设置强密码（或用已有账号）；
--   2. 报告表名 RIS_REPORT、RIS_REPORT_MEASURE 换成配置文件里声明的报告目标表；
--   3. 升级后若迁移新增了 RAI_* 表，为它加一行 GRANT 后重新执行。
--
-- A least-privilege account for the module: SELECT on the view RAI_V_EXAM; SELECT/INSERT/UPDATE/DELETE
-- on the RAI_* tables; SELECT/INSERT/UPDATE on the report table, and DELETE too on the key/value measurement table
-- (RIS_REPORT_MEASURE): the rows target replaces the rows the module itself wrote with a newer SR's values
-- by deleting them (a doctor's rows are never deleted). No DELETE on the report table itself. The account cannot read
-- any RIS table itself. Run as the owner of these objects (who ran 10/20/30 and the migrations).
-- The objects live in the owner's schema, not the module's: either the module's session runs
-- ALTER SESSION SET CURRENT_SCHEMA = <owner>, or the DBA creates synonyms (comment at the end).
-- What a DBA changes:
--   1. the account name RAI_MODULE (everywhere); uncomment CREATE USER / GRANT CREATE SESSION with a
--      strong password (or use an existing account);
--   2. the report tables RIS_REPORT, RIS_REPORT_MEASURE: use the report targets of the configuration;
--   3. after an upgrade whose migrations add RAI_* tables, add a GRANT line for each and run again.
-- Re-runnable.
-- =====================================================================================================

-- CREATE USER RAI_MODULE IDENTIFIED BY "change-me";
-- GRANT CREATE SESSION TO RAI_MODULE;

GRANT SELECT ON RAI_V_EXAM TO RAI_MODULE;

-- 迁移版本表只读：config check --db 与 run 读它确认 RAI_* 表的版本（读不到会被报告为表缺失）。
-- The migrations' version table, read only: config check --db and run read the RAI_* tables' revision there.
GRANT SELECT ON RAI_SCHEMA_VERSION TO RAI_MODULE;

GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_TASK TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_TASK_ATTEMPT TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_STUDY_UID TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_EXAM_STARTED TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_OBJECT TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_MEASUREMENT TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_REPORT_STATE TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_ASSOC_REJECT TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_CHECK TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_LEASE TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_ALERT_STATE TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_REPORT_SENT TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_SESSION TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_PASSWORD_HISTORY TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_LOGIN_FAILURE TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_NAME_INDEX TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_NAME_KEY TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_NAME_SCAN TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_NAME_QUEUE TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_SR_SOURCE TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_ACCEPTANCE TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_STGCMT TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_CSTORE_STAT TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_CONTEXT_REJECT_STAT TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_REFUSAL_STAT TO RAI_MODULE;

-- 审计表只能追加：模块账号只有 SELECT、INSERT；按保存期限清理只能通过 RAI_AUDIT_PURGE（定义者权限，
-- 不删除 180 天以内的记录）。
-- The audit trail is append-only for the module: SELECT and INSERT only; old rows leave through
-- RAI_AUDIT_PURGE (definer's rights, never younger than 180 days). The block removes the UPDATE/DELETE
-- that earlier versions of this script granted (REVOKE of a missing grant raises ORA-01927).
BEGIN
    EXECUTE IMMEDIATE 'REVOKE UPDATE, DELETE ON RAI_AUDIT FROM RAI_MODULE';
EXCEPTION WHEN OTHERS THEN NULL;
END;
/
GRANT SELECT, INSERT ON RAI_AUDIT TO RAI_MODULE;
GRANT EXECUTE ON RAI_AUDIT_PURGE TO RAI_MODULE;

GRANT SELECT, INSERT, UPDATE ON RIS_REPORT TO RAI_MODULE;
GRANT SELECT, INSERT, UPDATE, DELETE ON RIS_REPORT_MEASURE TO RAI_MODULE;
-- 典型图像表（报告目标 images，可选）/ key image table (target images, optional):
GRANT SELECT, INSERT, UPDATE, DELETE ON RIS_REPORT_IMAGE TO RAI_MODULE;

-- Synonyms instead of CURRENT_SCHEMA (run as a DBA; <OWNER> is the schema that ran this script):
-- CREATE SYNONYM RAI_MODULE.RAI_V_EXAM FOR <OWNER>.RAI_V_EXAM;
-- CREATE SYNONYM RAI_MODULE.RAI_TASK FOR <OWNER>.RAI_TASK;
-- ... one per object granted above.

-- =====================================================================================================
-- 40_grants.sql  (SQL Server 2016+; sqlcmd / SSMS)
--
-- 为模块创建最小权限账号：视图 RAI_V_EXAM 只读；RAI_* 表读写删；报告表读、插入、更新（测量表另可删除模块自己写的旧行）。
-- 模块账号读不到任何 RIS 原始表。以拥有这些对象的账号（运行 10/20/30 脚本和迁移的账号）执行。
-- DBA 需要修改的地方：
--   1. 用户名 rai_module（全文替换）；取消 CREATE LOGIN / CREATE USER 的注释并设置强密码（或用已有账号）；
--   2. 报告表名 RIS_REPORT、RIS_REPORT_MEASURE 换成配置文件里声明的报告目标表；
--   3. 升级后若迁移新增了 RAI_* 表，为它加一行 GRANT 后重新执行。
--
-- A least-privilege user for the module: SELECT on the view RAI_V_EXAM; SELECT/INSERT/UPDATE/DELETE on
-- the RAI_* tables; SELECT/INSERT/UPDATE on the report tables (DELETE too on the measurement table). The user cannot read any RIS
-- table itself. Run as the owner of these objects (who ran 10/20/30 and the migrations).
-- What a DBA changes:
--   1. the user name rai_module (everywhere); uncomment CREATE LOGIN / CREATE USER with a strong
--      password (or use an existing user);
--   2. the report tables RIS_REPORT, RIS_REPORT_MEASURE: use the report targets of the configuration;
--   3. after an upgrade whose migrations add RAI_* tables, add a GRANT line for each and run again.
-- Re-runnable.
-- =====================================================================================================

-- CREATE LOGIN rai_module WITH PASSWORD = 'change-me';
-- CREATE USER rai_module FOR LOGIN rai_module;

GRANT SELECT ON RAI_V_EXAM TO rai_module;

-- 迁移版本表只读：config check --db 与 run 读它确认 RAI_* 表的版本（读不到会被报告为表缺失）。
-- The migrations' version table, read only: config check --db and run read the RAI_* tables' revision there.
GRANT SELECT ON RAI_SCHEMA_VERSION TO rai_module;

GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_TASK TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_TASK_ATTEMPT TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_STUDY_UID TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_EXAM_STARTED TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_OBJECT TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_MEASUREMENT TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_REPORT_STATE TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_ASSOC_REJECT TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_CHECK TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_LEASE TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_ALERT_STATE TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_REPORT_SENT TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_SESSION TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_PASSWORD_HISTORY TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_LOGIN_FAILURE TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_NAME_INDEX TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_NAME_KEY TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_NAME_SCAN TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_NAME_QUEUE TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_SR_SOURCE TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_ACCEPTANCE TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_STGCMT TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_CSTORE_STAT TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_CONTEXT_REJECT_STAT TO rai_module;
GRANT SELECT, INSERT, UPDATE, DELETE ON RAI_REFUSAL_STAT TO rai_module;
-- 审计表只能追加：模块账号只有 SELECT、INSERT；按保存期限清理只能通过 RAI_AUDIT_PURGE（EXECUTE AS OWNER，
-- 不删除 180 天以内的记录）。REVOKE 使旧版本授予的 UPDATE/DELETE 失效。
-- The audit trail is append-only for the module: SELECT and INSERT only; old rows leave through
-- RAI_AUDIT_PURGE (EXECUTE AS OWNER, never younger than 180 days). The REVOKE removes the UPDATE/DELETE
-- that earlier versions of this script granted.
REVOKE UPDATE, DELETE ON RAI_AUDIT FROM rai_module;
GRANT SELECT, INSERT ON RAI_AUDIT TO rai_module;
GRANT EXECUTE ON RAI_AUDIT_PURGE TO rai_module;
GRANT SELECT, INSERT, UPDATE ON RIS_REPORT TO rai_module;
-- DELETE on the measurement table: the rows target replaces the module's own older rows.
GRANT SELECT, INSERT, UPDATE, DELETE ON RIS_REPORT_MEASURE TO rai_module;
-- 典型图像表（报告目标 images，可选）/ key image table (target images, optional):
GRANT SELECT, INSERT, UPDATE, DELETE ON RIS_REPORT_IMAGE TO rai_module;
GO

-- =====================================================================================================
-- 40_grants.sql  (人大金仓 KingbaseES V8R6+; ksql)
--
-- 为模块创建最小权限账号：视图 RAI_V_EXAM 只读；RAI_* 表读写删；报告表读、插入、更新（测量表另可删除模块自己写的旧行）。
-- 模块账号读不到任何 RIS 原始表。以拥有这些对象的账号（运行 10/20/30 脚本和迁移的账号）执行。
-- DBA 需要修改的地方：
--   1. 账号名 rai_module（全文替换）；取消 CREATE ROLE 的注释并设置强密码（或用已有账号）；
--   2. 报告表名 RIS_REPORT、RIS_REPORT_MEASURE 换成配置文件里声明的报告目标表；
--   3. 对象不在 public 模式时修改 GRANT USAGE ON SCHEMA 一行；
--   4. 升级后若迁移新增了 RAI_* 表，把它加入下面的列表后重新执行。
--
-- A least-privilege role for the module: SELECT on the view RAI_V_EXAM; SELECT/INSERT/UPDATE/DELETE
-- on the RAI_* tables; SELECT/INSERT/UPDATE on the report tables (DELETE too on the measurement table). The role cannot read
-- any RIS table itself. Run as the owner of these objects (who ran 10/20/30 and the migrations).
-- What a DBA changes:
--   1. the role name rai_module (everywhere); uncomment CREATE ROLE with a strong password (or use
--      an existing role);
--   2. the report tables RIS_REPORT, RIS_REPORT_MEASURE: use the report targets of the configuration;
--   3. the GRANT USAGE ON SCHEMA line when the objects are not in schema public;
--   4. after an upgrade whose migrations add RAI_* tables, add them below and run this again.
-- Identity columns need no sequence grant. Re-runnable.
-- =====================================================================================================

-- CREATE ROLE rai_module LOGIN PASSWORD 'change-me';

GRANT USAGE ON SCHEMA public TO rai_module;

GRANT SELECT ON RAI_V_EXAM TO rai_module;

-- 迁移版本表只读：config check --db 与 run 读它确认 RAI_* 表的版本（读不到会被报告为表缺失）。
-- The migrations' version table, read only: config check --db and run read the RAI_* tables' revision there.
GRANT SELECT ON RAI_SCHEMA_VERSION TO rai_module;

GRANT SELECT, INSERT, UPDATE, DELETE ON
    RAI_TASK,
    RAI_TASK_ATTEMPT,
    RAI_STUDY_UID,
    RAI_EXAM_STARTED,
    RAI_OBJECT,
    RAI_MEASUREMENT,
    RAI_REPORT_STATE,
    RAI_ASSOC_REJECT,
    RAI_CHECK,
    RAI_LEASE,
    RAI_ALERT_STATE,
    RAI_REPORT_SENT,
    RAI_SESSION,
    RAI_PASSWORD_HISTORY,
    RAI_LOGIN_FAILURE,
    RAI_NAME_INDEX,
    RAI_NAME_KEY,
    RAI_NAME_SCAN,
    RAI_NAME_QUEUE,
    RAI_SR_SOURCE,
    RAI_ACCEPTANCE,
    RAI_STGCMT,
    RAI_CSTORE_STAT,
    RAI_CONTEXT_REJECT_STAT,
    RAI_REFUSAL_STAT
TO rai_module;

-- 审计表只能追加：模块账号只有 SELECT、INSERT；按保存期限清理只能通过 RAI_AUDIT_PURGE（以属主权限运行，
-- 不删除 180 天以内的记录）。REVOKE 使旧版本授予的 UPDATE/DELETE 失效。
-- The audit trail is append-only for the module: SELECT and INSERT only; old rows leave through
-- RAI_AUDIT_PURGE (owner's rights, never younger than 180 days). The REVOKE removes the UPDATE/DELETE
-- that earlier versions of this script granted.
REVOKE UPDATE, DELETE, TRUNCATE ON RAI_AUDIT FROM rai_module;
GRANT SELECT, INSERT ON RAI_AUDIT TO rai_module;
GRANT EXECUTE ON PROCEDURE rai_audit_purge(integer) TO rai_module;

GRANT SELECT, INSERT, UPDATE ON RIS_REPORT TO rai_module;
-- DELETE on the measurement table: the rows target replaces the module's own older rows.
GRANT SELECT, INSERT, UPDATE, DELETE ON RIS_REPORT_MEASURE TO rai_module;
-- 典型图像表（报告目标 images，可选）/ key image table (target images, optional):
GRANT SELECT, INSERT, UPDATE, DELETE ON RIS_REPORT_IMAGE TO rai_module;

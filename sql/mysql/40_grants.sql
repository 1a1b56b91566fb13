-- =====================================================================================================
-- 40_grants.sql  (MySQL / MariaDB)
--
-- 为模块创建最小权限账号：视图 RAI_V_EXAM 只读；RAI_* 表读写删；报告表读、插入、更新；键值测量表（RIS_REPORT_MEASURE）另可删除——rows 目标用新 SR 的值替换模块自己写过的行时要删除旧行（医生录入或修改过的行不删）。
-- 模块账号读不到任何 RIS 原始表。在 RIS 库中（USE 库名）以有授权权限的账号执行。
-- DBA 需要修改的地方：
--   1. 账号 'rai_module'@'%'（全文替换；'%' 最好换成模块所在主机的地址）；
--      取消 CREATE USER 的注释并设置强密码（或用已有账号）；
--   2. 报告表名 RIS_REPORT、RIS_REPORT_MEASURE 换成配置文件里声明的报告目标表；
--   3. 升级后若迁移新增了 RAI_* 表，把它加入下面的列表后重新执行。
--
-- A least-privilege account for the module: SELECT on the view RAI_V_EXAM; SELECT/INSERT/UPDATE/DELETE
-- on the RAI_* tables; SELECT/INSERT/UPDATE on the report table, and DELETE too on the key/value measurement table
-- (RIS_REPORT_MEASURE): the rows target replaces the rows the module itself wrote with a newer SR's values
-- by deleting them (a doctor's rows are never deleted). No DELETE on the report table itself. The account cannot read
-- any RIS table itself. Run inside the RIS database (USE <db>) as an account allowed to grant.
-- What a DBA changes:
--   1. the account 'rai_module'@'%' (everywhere; better replace '%' with the module host's address);
--      uncomment CREATE USER with a strong password (or use an existing account);
--   2. the report tables RIS_REPORT, RIS_REPORT_MEASURE: use the report targets of the configuration;
--   3. after an upgrade whose migrations add RAI_* tables, add them below and run this again.
-- Re-runnable.
-- 注意：Linux 上的 MySQL/MariaDB（lower_case_table_names=0）表名、视图名、触发器名区分大小写；模块的表是小写
-- （rai_task），所以本目录的脚本一律用小写对象名；医院自己的 RIS 表名请按实际大小写书写。
-- Note: on Linux MySQL/MariaDB (lower_case_table_names=0) table, view and trigger names are case-
-- sensitive. The module's tables are lower case (rai_task), so these scripts write every object name
-- in lower case; write the hospital's own RIS table names exactly as they are.
-- =====================================================================================================

-- CREATE USER IF NOT EXISTS 'rai_module'@'%' IDENTIFIED BY 'change-me';

GRANT SELECT ON rai_v_exam TO 'rai_module'@'%';

-- 迁移版本表只读：config check --db 与 run 读它确认 RAI_* 表的版本（读不到会被报告为表缺失）。
-- The migrations' version table, read only: config check --db and run read the RAI_* tables' revision there.
GRANT SELECT ON rai_schema_version TO 'rai_module'@'%';

GRANT SELECT, INSERT, UPDATE, DELETE ON rai_task TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_task_attempt TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_study_uid TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_exam_started TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_object TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_measurement TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_report_state TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_assoc_reject TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_check TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_lease TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_alert_state TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_report_sent TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_session TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_password_history TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_login_failure TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_name_index TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_name_key TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_name_scan TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_name_queue TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_sr_source TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_acceptance TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_stgcmt TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_cstore_stat TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_context_reject_stat TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON rai_refusal_stat TO 'rai_module'@'%';

-- 审计表只能追加：模块账号只有 SELECT、INSERT；按保存期限清理只能通过 rai_audit_purge（SQL SECURITY DEFINER，
-- 不删除 180 天以内的记录）。先授予再全部收回，使旧版本授予的 UPDATE/DELETE 失效（MySQL 收回不存在的权限会报错）。
-- The audit trail is append-only for the module: SELECT and INSERT only; rows older than the retention
-- leave through rai_audit_purge (SQL SECURITY DEFINER, never younger than 180 days). Granted, revoked
-- entirely, granted again: removes the UPDATE/DELETE of earlier versions (REVOKE of a missing grant fails).
GRANT SELECT, INSERT ON rai_audit TO 'rai_module'@'%';
REVOKE ALL PRIVILEGES ON rai_audit FROM 'rai_module'@'%';
GRANT SELECT, INSERT ON rai_audit TO 'rai_module'@'%';
GRANT EXECUTE ON PROCEDURE rai_audit_purge TO 'rai_module'@'%';

GRANT SELECT, INSERT, UPDATE ON ris_report TO 'rai_module'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON ris_report_measure TO 'rai_module'@'%';
-- 典型图像表（报告目标 images，可选）/ key image table (target images, optional):
GRANT SELECT, INSERT, UPDATE, DELETE ON ris_report_image TO 'rai_module'@'%';

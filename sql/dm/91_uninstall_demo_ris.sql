-- =====================================================================================================
-- 91_uninstall_demo_ris.sql  (达梦 DM8; disql)
--
-- 删除演示 RIS 表（RIS_EXAM、RIS_REPORT、RIS_REPORT_MEASURE、RIS_REPORT_IMAGE）及其中的全部数据（触发器随 RIS_EXAM 一起删除）。
-- 真实 RIS 上绝不要运行。先运行 90_uninstall.sql。表不存在时跳过，可重复执行。
--
-- Drops the demo RIS tables (RIS_EXAM, RIS_REPORT, RIS_REPORT_MEASURE, RIS_REPORT_IMAGE) and all their data (the
-- trigger goes with RIS_EXAM). Never run it against a real RIS: there is nothing in it for a DBA to
-- adapt. Run 90_uninstall.sql first. Skips tables that are not there; re-runnable.
-- =====================================================================================================

BEGIN
    FOR t IN (SELECT TABLE_NAME FROM USER_TABLES
              WHERE TABLE_NAME IN ('RIS_REPORT_IMAGE', 'RIS_REPORT_MEASURE', 'RIS_REPORT', 'RIS_EXAM'))
    LOOP
        EXECUTE IMMEDIATE 'DROP TABLE ' || t.TABLE_NAME || ' CASCADE';
    END LOOP;
END;
/

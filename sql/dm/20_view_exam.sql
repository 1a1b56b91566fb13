-- =====================================================================================================
-- 20_view_exam.sql  (达梦 DM8; disql)
--
-- 创建视图 RAI_V_EXAM：模块读取检查信息的唯一入口，列名固定（规范列名），不能改：
--   EXAM_KEY, PATIENT_ID, PATIENT_NAME, SEX, BIRTH_DATE, ACCESSION_NO, EXAM_DATE, EXAM_DESC,
--   EXAM_ITEMS, STUDY_UID, MODALITY, EXAM_STATUS
-- DBA 需要修改的地方（适配医院自己的 RIS 表）：
--   1. FROM 后的表名（可加模式名，如 RIS.EXAM），以及每个 "AS 规范列名" 左边的源列名或表达式（可以连接多张表）；
--   2. EXAM_KEY 必须是字符串（NUMBER 主键用 TO_CHAR），并且与触发器写入 RAI_TASK.EXAM_KEY 的值完全相同；
--   3. SEX 输出 M / F / O；EXAM_STATUS 输出 REGISTERED / STARTED / FINISHED / CANCELLED
--      （医院的状态码不同时用 CASE 映射；轮询模式按 EXAM_STATUS = 'STARTED' 查找已开始的检查）；
--   4. BIRTH_DATE 为只含日期的 DATE（TRUNC），EXAM_DATE 为 TIMESTAMP。
-- 视图以其所有者的权限读取底层表。底层表属于别的模式时，视图所有者需要该表的 SELECT ... WITH GRANT OPTION，
-- 才能把视图授权给模块账号（见 40_grants.sql）。
--
-- Creates the view RAI_V_EXAM, the only place the module reads exams from. Its column names are
-- canonical and fixed (list above). What a DBA changes to fit their own RIS tables:
--   1. the table(s) after FROM (schema-qualified if needed) and the source column or expression left
--      of each "AS <canonical>" (joins are fine);
--   2. EXAM_KEY must be text (TO_CHAR a NUMBER key) and equal to what the trigger writes to
--      RAI_TASK.EXAM_KEY;
--   3. SEX must come out as M / F / O, EXAM_STATUS as REGISTERED / STARTED / FINISHED / CANCELLED
--      (map other codes with CASE; polling mode looks for EXAM_STATUS = 'STARTED');
--   4. BIRTH_DATE is a date-only DATE (TRUNC), EXAM_DATE a TIMESTAMP.
-- The view reads its tables with its owner's rights. When they belong to another schema, the view's
-- owner needs SELECT ... WITH GRANT OPTION on them to grant the view to the module (40_grants.sql).
-- Re-runnable. Removal: 90_uninstall.sql.
-- =====================================================================================================

CREATE OR REPLACE VIEW RAI_V_EXAM AS
SELECT
    CAST(E.EXAM_ID AS VARCHAR(64))       AS EXAM_KEY,
    E.PATIENT_ID                          AS PATIENT_ID,
    E.PATIENT_NAME                        AS PATIENT_NAME,
    CASE
        WHEN E.SEX IN ('男', 'M', 'm') THEN 'M'
        WHEN E.SEX IN ('女', 'F', 'f') THEN 'F'
        WHEN E.SEX IS NULL THEN NULL
        ELSE 'O'
    END                                   AS SEX,
    TRUNC(E.BIRTH_DATE)                   AS BIRTH_DATE,
    E.ACCESSION_NO                        AS ACCESSION_NO,
    CAST(E.EXAM_DATE AS TIMESTAMP(0))     AS EXAM_DATE,
    E.EXAM_DESC                           AS EXAM_DESC,
    E.EXAM_ITEMS                          AS EXAM_ITEMS,
    E.STUDY_UID                           AS STUDY_UID,
    E.MODALITY                            AS MODALITY,
    E.EXAM_STATUS                         AS EXAM_STATUS
FROM RIS_EXAM E;

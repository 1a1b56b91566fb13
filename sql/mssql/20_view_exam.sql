-- =====================================================================================================
-- 20_view_exam.sql  (SQL Server 2016 SP1+; sqlcmd / SSMS)
--
-- 创建视图 RAI_V_EXAM：模块读取检查信息的唯一入口，列名固定（规范列名），不能改：
--   EXAM_KEY, PATIENT_ID, PATIENT_NAME, SEX, BIRTH_DATE, ACCESSION_NO, EXAM_DATE, EXAM_DESC,
--   EXAM_ITEMS, STUDY_UID, MODALITY, EXAM_STATUS
-- DBA 需要修改的地方（适配医院自己的 RIS 表）：
--   1. FROM 后的表名（可加架构名，如 his.dbo.exam），以及每个 "AS 规范列名" 左边的源列名或表达式；
--   2. EXAM_KEY 必须是字符串（CAST(... AS NVARCHAR(64))），并与触发器写入 RAI_TASK.EXAM_KEY 的值相同；
--   3. SEX 输出 M / F / O；EXAM_STATUS 输出 REGISTERED / STARTED / FINISHED / CANCELLED（用 CASE 映射）；
--   4. BIRTH_DATE 为 date，EXAM_DATE 为 datetime2（不带时区）。
-- 视图按所有权链读取底层表：模块账号只需要视图的 SELECT 权限（见 40_grants.sql）。
--
-- Creates the view RAI_V_EXAM, the only place the module reads exams from. Its column names are
-- canonical and fixed (list above). What a DBA changes to fit their own RIS tables:
--   1. the table(s) after FROM (schema-qualified if needed) and the source column or expression left
--      of each "AS <canonical>" (joins are fine);
--   2. EXAM_KEY must be text (CAST(... AS NVARCHAR(64))) and equal to what the trigger writes to
--      RAI_TASK.EXAM_KEY;
--   3. SEX must come out as M / F / O, EXAM_STATUS as REGISTERED / STARTED / FINISHED / CANCELLED;
--   4. BIRTH_DATE is a date, EXAM_DATE a datetime2 without time zone.
-- Ownership chaining lets the module's user read the view with SELECT on the view only
-- (40_grants.sql). Re-runnable (CREATE OR ALTER).
-- =====================================================================================================

CREATE OR ALTER VIEW RAI_V_EXAM AS
SELECT
    CAST(E.EXAM_ID AS NVARCHAR(64))     AS EXAM_KEY,
    E.PATIENT_ID                        AS PATIENT_ID,
    E.PATIENT_NAME                      AS PATIENT_NAME,
    CAST(CASE
        WHEN E.SEX IN (N'男', N'M', N'm') THEN N'M'
        WHEN E.SEX IN (N'女', N'F', N'f') THEN N'F'
        WHEN E.SEX IS NULL OR E.SEX = N'' THEN NULL
        ELSE N'O'
    END AS NVARCHAR(1))                 AS SEX,
    CAST(E.BIRTH_DATE AS DATE)          AS BIRTH_DATE,
    E.ACCESSION_NO                      AS ACCESSION_NO,
    CAST(E.EXAM_DATE AS DATETIME2(0))   AS EXAM_DATE,
    E.EXAM_DESC                         AS EXAM_DESC,
    E.EXAM_ITEMS                        AS EXAM_ITEMS,
    E.STUDY_UID                         AS STUDY_UID,
    E.MODALITY                          AS MODALITY,
    E.EXAM_STATUS                       AS EXAM_STATUS
FROM RIS_EXAM E;
GO

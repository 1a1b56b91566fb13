-- =====================================================================================================
-- 20_view_exam.sql  (MySQL / MariaDB)
--
-- 创建视图 RAI_V_EXAM：模块读取检查信息的唯一入口，列名固定（规范列名），不能改：
--   EXAM_KEY, PATIENT_ID, PATIENT_NAME, SEX, BIRTH_DATE, ACCESSION_NO, EXAM_DATE, EXAM_DESC,
--   EXAM_ITEMS, STUDY_UID, MODALITY, EXAM_STATUS
-- DBA 需要修改的地方（适配医院自己的 RIS 表）：
--   1. FROM 后的表名（可加库名，如 ris.exam），以及每个 "AS 规范列名" 左边的源列名或表达式（可以连接多张表）；
--   2. EXAM_KEY 必须是字符串（CAST(... AS CHAR(64))），并且与触发器写入 RAI_TASK.EXAM_KEY 的值完全相同；
--   3. SEX 输出 M / F / O；EXAM_STATUS 输出 REGISTERED / STARTED / FINISHED / CANCELLED
--      （医院的状态码不同时用 CASE 映射；轮询模式按 EXAM_STATUS = 'STARTED' 查找已开始的检查）；
--   4. BIRTH_DATE 为 DATE，EXAM_DATE 为 DATETIME；
--   5. RIS 表的字符集/排序规则与 RAI_* 表不同时，在 EXAM_KEY 上加 COLLATE（或 CONVERT(... USING utf8mb4)）。
-- 视图以定义者（DEFINER）的权限读取底层表：模块账号只需要视图的 SELECT 权限（见 40_grants.sql）。
--
-- Creates the view RAI_V_EXAM, the only place the module reads exams from. Its column names are
-- canonical and fixed (list above). What a DBA changes to fit their own RIS tables:
--   1. the table(s) after FROM (database-qualified if needed) and the source column or expression
--      left of each "AS <canonical>" (joins are fine);
--   2. EXAM_KEY must be text (CAST(... AS CHAR(64))) and equal to what the trigger writes to
--      RAI_TASK.EXAM_KEY;
--   3. SEX must come out as M / F / O, EXAM_STATUS as REGISTERED / STARTED / FINISHED / CANCELLED
--      (map other codes with CASE; polling mode looks for EXAM_STATUS = 'STARTED');
--   4. BIRTH_DATE is a DATE, EXAM_DATE a DATETIME;
--   5. when the RIS tables' character set or collation differs from the RAI_* tables', add COLLATE
--      (or CONVERT(... USING utf8mb4)) to EXAM_KEY.
-- The view reads its tables with its DEFINER's rights: the module's account needs SELECT on the view
-- only (40_grants.sql). Re-runnable. Removal: 90_uninstall.sql.
-- 注意：Linux 上的 MySQL/MariaDB（lower_case_table_names=0）表名、视图名、触发器名区分大小写；模块的表是小写
-- （rai_task），所以本目录的脚本一律用小写对象名；医院自己的 RIS 表名请按实际大小写书写。
-- Note: on Linux MySQL/MariaDB (lower_case_table_names=0) table, view and trigger names are case-
-- sensitive. The module's tables are lower case (rai_task), so these scripts write every object name
-- in lower case; write the hospital's own RIS table names exactly as they are.
-- =====================================================================================================

CREATE OR REPLACE SQL SECURITY DEFINER VIEW rai_v_exam AS
SELECT
    E.EXAM_ID                     AS EXAM_KEY,
    E.PATIENT_ID                  AS PATIENT_ID,
    E.PATIENT_NAME                AS PATIENT_NAME,
    CASE
        WHEN E.SEX IN ('男', 'M') THEN 'M'
        WHEN E.SEX IN ('女', 'F') THEN 'F'
        WHEN E.SEX IS NULL OR E.SEX = '' THEN NULL
        ELSE 'O'
    END                           AS SEX,
    E.BIRTH_DATE                  AS BIRTH_DATE,
    E.ACCESSION_NO                AS ACCESSION_NO,
    E.EXAM_DATE                   AS EXAM_DATE,
    E.EXAM_DESC                   AS EXAM_DESC,
    E.EXAM_ITEMS                  AS EXAM_ITEMS,
    E.STUDY_UID                   AS STUDY_UID,
    E.MODALITY                    AS MODALITY,
    E.EXAM_STATUS                 AS EXAM_STATUS
FROM ris_exam E;

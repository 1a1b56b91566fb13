-- =====================================================================================================
-- 10_demo_ris.sql  (SQL Server 2016+; sqlcmd / SSMS)
--
-- 演示用 RIS 表：检查表 RIS_EXAM、报告表 RIS_REPORT、测量值键值表 RIS_REPORT_MEASURE、典型图像表 RIS_REPORT_IMAGE。
-- 只用于演示和测试。医院已有自己的 RIS 表时不要运行本脚本；DBA 要改的是 20_view_exam.sql（视图）
-- 和 30_trigger_exam_start.sql（触发器），让它们指向医院自己的表。
-- 中文列用 NVARCHAR（与数据库排序规则无关，中文姓名完整保存）。删除：91_uninstall_demo_ris.sql。
--
-- Demo RIS tables: exams RIS_EXAM, reports RIS_REPORT, key/value measurements RIS_REPORT_MEASURE, key images RIS_REPORT_IMAGE.
-- For the demo and the tests only. With a real RIS do NOT run this script: a DBA adapts
-- 20_view_exam.sql (the view) and 30_trigger_exam_start.sql (the trigger) to the hospital's tables.
-- Text columns are NVARCHAR, so Chinese names survive whatever the database collation. Batches end at
-- GO lines (sqlcmd). Re-runnable. Removal: 91_uninstall_demo_ris.sql.
-- =====================================================================================================

IF OBJECT_ID(N'RIS_EXAM', N'U') IS NULL
CREATE TABLE RIS_EXAM (
    EXAM_ID       NVARCHAR(64)   NOT NULL PRIMARY KEY,  -- 检查号 exam key (string)
    PATIENT_ID    NVARCHAR(64)   NOT NULL,              -- 患者 ID
    PATIENT_NAME  NVARCHAR(200),                        -- 患者姓名 (Chinese)
    SEX           NVARCHAR(8),                          -- 性别: 男 / 女 / 未知 (or M / F / O)
    BIRTH_DATE    DATE,                                 -- 出生日期
    ACCESSION_NO  NVARCHAR(64),                         -- 检查流水号 / accession number
    EXAM_DATE     DATETIME2(0),                         -- 检查时间 (RIS local time)
    EXAM_ITEMS    NVARCHAR(400),                        -- 检查项目, e.g. 心脏彩超;颈部血管
    EXAM_DESC     NVARCHAR(400),                        -- 检查描述
    STUDY_UID     NVARCHAR(64),                         -- StudyInstanceUID (may be empty)
    MODALITY      NVARCHAR(16)   DEFAULT N'US',
    EXAM_STATUS   NVARCHAR(16)   NOT NULL DEFAULT N'REGISTERED'
                  CHECK (EXAM_STATUS IN (N'REGISTERED', N'STARTED', N'FINISHED', N'CANCELLED'))
);
GO

IF OBJECT_ID(N'RIS_REPORT', N'U') IS NULL
CREATE TABLE RIS_REPORT (
    REPORT_ID      BIGINT         IDENTITY(1, 1) PRIMARY KEY,
    EXAM_ID        NVARCHAR(64)   NOT NULL,             -- one report per exam
    FINDINGS       NVARCHAR(MAX),                       -- 检查所见
    IMPRESSION     NVARCHAR(MAX),                       -- 诊断意见 / 超声提示
    REPORT_STATUS  NVARCHAR(16)   NOT NULL DEFAULT N'DRAFT' CHECK (REPORT_STATUS IN (N'DRAFT', N'SIGNED')),
    UPDATED_AT     DATETIME2(6),
    CONSTRAINT RIS_UQ_REPORT_EXAM UNIQUE (EXAM_ID)
);
GO

IF OBJECT_ID(N'RIS_REPORT_MEASURE', N'U') IS NULL
CREATE TABLE RIS_REPORT_MEASURE (
    EXAM_ID     NVARCHAR(64)    NOT NULL,
    ITEM_KEY    NVARCHAR(64)    NOT NULL,               -- stable key, e.g. LVEF
    ITEM_NAME   NVARCHAR(200),                          -- 测量项名称, e.g. 左室射血分数
    ITEM_VALUE  NVARCHAR(64),                           -- value as text, e.g. 62
    ITEM_UNIT   NVARCHAR(32),                           -- e.g. %
    SOURCE_UID  NVARCHAR(64),                           -- SOP Instance UID of the SR it came from
    UPDATED_AT  DATETIME2(6),
    CONSTRAINT RIS_UQ_REPORT_MEASURE UNIQUE (EXAM_ID, ITEM_KEY)
);
GO

-- 典型图像表（报告目标 images）：每个检查的每幅图像一行；模块写入的行按 SOP Instance UID 替换。
-- Key images (report target images): one row per image of an exam.
IF OBJECT_ID(N'RIS_REPORT_IMAGE', N'U') IS NULL
CREATE TABLE RIS_REPORT_IMAGE (
    EXAM_ID          NVARCHAR(64) NOT NULL,
    SOP_INSTANCE_UID NVARCHAR(64) NOT NULL,         -- SOP Instance UID of the image (SC / US)
    IMAGE_NO         INT,                           -- 图像序号 1, 2, 3 … (key images first)
    SERIES_NO        INT,                           -- Series Number
    INSTANCE_NO      INT,                           -- Instance Number
    IMAGE_PATH       NVARCHAR(500),                 -- JPEG URL or path; NULL: not received yet
    CAPTION          NVARCHAR(200),                 -- 图像说明 from the SR, e.g. 左室射血分数
    IMAGE_STATE      NVARCHAR(16),                  -- JPEG, DICOM or NOT_RECEIVED
    SOURCE_UID       NVARCHAR(64),                  -- SOP Instance UID of the SR naming it
    UPDATED_AT       DATETIME2(6),
    CONSTRAINT RIS_UQ_REPORT_IMAGE UNIQUE (EXAM_ID, SOP_INSTANCE_UID)
);
GO

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'RIS_IX_EXAM_PATIENT')
    CREATE INDEX RIS_IX_EXAM_PATIENT ON RIS_EXAM (PATIENT_ID);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'RIS_IX_EXAM_ACCESSION')
    CREATE INDEX RIS_IX_EXAM_ACCESSION ON RIS_EXAM (ACCESSION_NO);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'RIS_IX_EXAM_DATE')
    CREATE INDEX RIS_IX_EXAM_DATE ON RIS_EXAM (EXAM_DATE);
GO

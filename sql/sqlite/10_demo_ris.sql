-- =====================================================================================================
-- 10_demo_ris.sql  (SQLite)
--
-- 演示用 RIS 表：检查表 RIS_EXAM、报告表 RIS_REPORT、测量值键值表 RIS_REPORT_MEASURE、典型图像表 RIS_REPORT_IMAGE。
-- 只用于内置演示库（ris-ai-module init-demo）和测试。医院已有自己的 RIS 表时不要运行本脚本；
-- DBA 要改的是 20_view_exam.sql（视图）和 30_trigger_exam_start.sql（触发器），让它们指向医院自己的表。
-- 检查状态：REGISTERED 登记、STARTED 开始检查、FINISHED 完成、CANCELLED 取消；
-- 报告状态：DRAFT 草稿、SIGNED 已签发（已签发的报告模块绝不改写）。
-- 删除：91_uninstall_demo_ris.sql。
--
-- Demo RIS tables: exams RIS_EXAM, reports RIS_REPORT, key/value measurements RIS_REPORT_MEASURE, key images RIS_REPORT_IMAGE.
-- For the embedded demo (ris-ai-module init-demo) and the tests only. With a real RIS do NOT run
-- this script: adapt 20_view_exam.sql (the view) and 30_trigger_exam_start.sql (the trigger) to the
-- hospital's own tables instead. Exam statuses: REGISTERED, STARTED, FINISHED, CANCELLED; report
-- statuses: DRAFT, SIGNED (a signed report is never overwritten). Removal: 91_uninstall_demo_ris.sql.
--
-- SQLite stores text as UTF-8, so Chinese names need nothing special. Dates are ISO-8601 text:
-- BIRTH_DATE 'YYYY-MM-DD', EXAM_DATE / UPDATED_AT 'YYYY-MM-DD HH:MM:SS' (RIS local time).
-- =====================================================================================================

CREATE TABLE IF NOT EXISTS RIS_EXAM (
    EXAM_ID       VARCHAR(64)  NOT NULL PRIMARY KEY,   -- 检查号 exam key (string)
    PATIENT_ID    VARCHAR(64)  NOT NULL,               -- 患者 ID
    PATIENT_NAME  VARCHAR(200),                        -- 患者姓名 (Chinese)
    SEX           VARCHAR(8),                          -- 性别: 男 / 女 / 未知 (or M / F / O)
    BIRTH_DATE    DATE,                                -- 出生日期 'YYYY-MM-DD'
    ACCESSION_NO  VARCHAR(64),                         -- 检查流水号 / accession number
    EXAM_DATE     DATETIME,                            -- 检查时间 'YYYY-MM-DD HH:MM:SS'
    EXAM_ITEMS    VARCHAR(400),                        -- 检查项目, e.g. 心脏彩超;颈部血管
    EXAM_DESC     VARCHAR(400),                        -- 检查描述
    STUDY_UID     VARCHAR(64),                         -- StudyInstanceUID (may be empty)
    MODALITY      VARCHAR(16)  DEFAULT 'US',
    EXAM_STATUS   VARCHAR(16)  NOT NULL DEFAULT 'REGISTERED'
                  CHECK (EXAM_STATUS IN ('REGISTERED', 'STARTED', 'FINISHED', 'CANCELLED'))
);

CREATE INDEX IF NOT EXISTS RIS_IX_EXAM_PATIENT ON RIS_EXAM (PATIENT_ID);
CREATE INDEX IF NOT EXISTS RIS_IX_EXAM_ACCESSION ON RIS_EXAM (ACCESSION_NO);
CREATE INDEX IF NOT EXISTS RIS_IX_EXAM_DATE ON RIS_EXAM (EXAM_DATE);

CREATE TABLE IF NOT EXISTS RIS_REPORT (
    REPORT_ID      INTEGER      NOT NULL PRIMARY KEY,  -- assigned by the database when omitted
    EXAM_ID        VARCHAR(64)  NOT NULL,              -- one report per exam
    FINDINGS       TEXT,                               -- 检查所见
    IMPRESSION     TEXT,                               -- 诊断意见 / 超声提示
    REPORT_STATUS  VARCHAR(16)  NOT NULL DEFAULT 'DRAFT' CHECK (REPORT_STATUS IN ('DRAFT', 'SIGNED')),
    UPDATED_AT     DATETIME,
    CONSTRAINT RIS_UQ_REPORT_EXAM UNIQUE (EXAM_ID)
);

CREATE TABLE IF NOT EXISTS RIS_REPORT_MEASURE (
    EXAM_ID     VARCHAR(64)   NOT NULL,
    ITEM_KEY    VARCHAR(64)   NOT NULL,                -- stable key, e.g. LVEF
    ITEM_NAME   VARCHAR(200),                          -- 测量项名称, e.g. 左室射血分数
    ITEM_VALUE  VARCHAR(64),                           -- value as text, e.g. 62
    ITEM_UNIT   VARCHAR(32),                           -- e.g. %
    SOURCE_UID  VARCHAR(64),                           -- SOP Instance UID of the SR it came from
    UPDATED_AT  DATETIME,
    CONSTRAINT RIS_UQ_REPORT_MEASURE UNIQUE (EXAM_ID, ITEM_KEY)
);

-- 典型图像表（报告目标 images）：每个检查的每幅图像一行；模块写入的行按 SOP Instance UID 替换。
-- Key images (report target images): one row per image of an exam.
CREATE TABLE IF NOT EXISTS RIS_REPORT_IMAGE (
    EXAM_ID          VARCHAR(64) NOT NULL,
    SOP_INSTANCE_UID VARCHAR(64) NOT NULL,          -- SOP Instance UID of the image (SC / US)
    IMAGE_NO         INTEGER,                       -- 图像序号 1, 2, 3 … (key images first)
    SERIES_NO        INTEGER,                       -- Series Number
    INSTANCE_NO      INTEGER,                       -- Instance Number
    IMAGE_PATH       VARCHAR(500),                  -- JPEG URL or path; NULL: not received yet
    CAPTION          VARCHAR(200),                  -- 图像说明 from the SR, e.g. 左室射血分数
    IMAGE_STATE      VARCHAR(16),                   -- JPEG, DICOM or NOT_RECEIVED
    SOURCE_UID       VARCHAR(64),                   -- SOP Instance UID of the SR naming it
    UPDATED_AT       DATETIME,
    CONSTRAINT RIS_UQ_REPORT_IMAGE UNIQUE (EXAM_ID, SOP_INSTANCE_UID)
);

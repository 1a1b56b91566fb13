-- =====================================================================================================
-- 10_demo_ris.sql  (MySQL 5.7+ / MariaDB 10.3+)
--
-- 演示用 RIS 表：检查表 RIS_EXAM、报告表 RIS_REPORT、测量值键值表 RIS_REPORT_MEASURE、典型图像表 RIS_REPORT_IMAGE。
-- 只用于演示和测试。医院已有自己的 RIS 表时不要运行本脚本；DBA 要改的是 20_view_exam.sql（视图）
-- 和 30_trigger_exam_start.sql（触发器），让它们指向医院自己的表。
-- 检查状态：REGISTERED 登记、STARTED 开始检查、FINISHED 完成、CANCELLED 取消；
-- 报告状态：DRAFT 草稿、SIGNED 已签发（已签发的报告模块绝不改写）。
-- 字符集 utf8mb4（utf8/utf8mb3 存不下部分生僻字）；排序规则用库的默认值，与 RAI_* 表一致，
-- 否则比较 EXAM_KEY 时会报 "Illegal mix of collations"。删除：91_uninstall_demo_ris.sql。
--
-- Demo RIS tables: exams RIS_EXAM, reports RIS_REPORT, key/value measurements RIS_REPORT_MEASURE, key images RIS_REPORT_IMAGE.
-- For the demo and the tests only. With a real RIS do NOT run this script: adapt 20_view_exam.sql
-- (the view) and 30_trigger_exam_start.sql (the trigger) to the hospital's own tables instead.
-- Exam statuses: REGISTERED, STARTED, FINISHED, CANCELLED; report statuses: DRAFT, SIGNED (a signed
-- report is never overwritten). Character set utf8mb4 (utf8/utf8mb3 cannot hold every Chinese
-- character); the collation is left to the database default, the same as the RAI_* tables get, or
-- comparing EXAM_KEY values fails with "Illegal mix of collations". Removal: 91_uninstall_demo_ris.sql.
-- 注意：Linux 上的 MySQL/MariaDB（lower_case_table_names=0）表名、视图名、触发器名区分大小写；模块的表是小写
-- （rai_task），所以本目录的脚本一律用小写对象名；医院自己的 RIS 表名请按实际大小写书写。
-- Note: on Linux MySQL/MariaDB (lower_case_table_names=0) table, view and trigger names are case-
-- sensitive. The module's tables are lower case (rai_task), so these scripts write every object name
-- in lower case; write the hospital's own RIS table names exactly as they are.
-- =====================================================================================================

CREATE TABLE IF NOT EXISTS ris_exam (
    EXAM_ID       VARCHAR(64)   NOT NULL PRIMARY KEY,  -- 检查号 exam key (string)
    PATIENT_ID    VARCHAR(64)   NOT NULL,              -- 患者 ID
    PATIENT_NAME  VARCHAR(200),                        -- 患者姓名 (Chinese)
    SEX           VARCHAR(8),                          -- 性别: 男 / 女 / 未知 (or M / F / O)
    BIRTH_DATE    DATE,                                -- 出生日期
    ACCESSION_NO  VARCHAR(64),                         -- 检查流水号 / accession number
    EXAM_DATE     DATETIME,                            -- 检查时间 (RIS local time)
    EXAM_ITEMS    VARCHAR(400),                        -- 检查项目, e.g. 心脏彩超;颈部血管
    EXAM_DESC     VARCHAR(400),                        -- 检查描述
    STUDY_UID     VARCHAR(64),                         -- StudyInstanceUID (may be empty)
    MODALITY      VARCHAR(16)   DEFAULT 'US',
    EXAM_STATUS   VARCHAR(16)   NOT NULL DEFAULT 'REGISTERED',
    INDEX ris_ix_exam_patient (PATIENT_ID),
    INDEX ris_ix_exam_accession (ACCESSION_NO),
    INDEX ris_ix_exam_date (EXAM_DATE),
    CONSTRAINT ris_ck_exam_status CHECK (EXAM_STATUS IN ('REGISTERED', 'STARTED', 'FINISHED', 'CANCELLED'))
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4;

CREATE TABLE IF NOT EXISTS ris_report (
    REPORT_ID      BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    EXAM_ID        VARCHAR(64)   NOT NULL,             -- one report per exam
    FINDINGS       TEXT,                               -- 检查所见
    IMPRESSION     TEXT,                               -- 诊断意见 / 超声提示
    REPORT_STATUS  VARCHAR(16)   NOT NULL DEFAULT 'DRAFT',
    UPDATED_AT     DATETIME(6),
    CONSTRAINT ris_uq_report_exam UNIQUE (EXAM_ID),
    CONSTRAINT ris_ck_report_status CHECK (REPORT_STATUS IN ('DRAFT', 'SIGNED'))
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4;

CREATE TABLE IF NOT EXISTS ris_report_measure (
    EXAM_ID     VARCHAR(64)    NOT NULL,
    ITEM_KEY    VARCHAR(64)    NOT NULL,               -- stable key, e.g. LVEF
    ITEM_NAME   VARCHAR(200),                          -- 测量项名称, e.g. 左室射血分数
    ITEM_VALUE  VARCHAR(64),                           -- value as text, e.g. 62
    ITEM_UNIT   VARCHAR(32),                           -- e.g. %
    SOURCE_UID  VARCHAR(64),                           -- SOP Instance UID of the SR it came from
    UPDATED_AT  DATETIME(6),
    CONSTRAINT ris_uq_report_measure UNIQUE (EXAM_ID, ITEM_KEY)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4;

-- 典型图像表（报告目标 images）：每个检查的每幅图像一行；模块写入的行按 SOP Instance UID 替换。
-- Key images (report target images): one row per image of an exam.
CREATE TABLE IF NOT EXISTS ris_report_image (
    EXAM_ID          VARCHAR(64) NOT NULL,
    SOP_INSTANCE_UID VARCHAR(64) NOT NULL,          -- SOP Instance UID of the image (SC / US)
    IMAGE_NO         INT,                           -- 图像序号 1, 2, 3 … (key images first)
    SERIES_NO        INT,                           -- Series Number
    INSTANCE_NO      INT,                           -- Instance Number
    IMAGE_PATH       VARCHAR(500),                  -- JPEG URL or path; NULL: not received yet
    CAPTION          VARCHAR(200),                  -- 图像说明 from the SR, e.g. 左室射血分数
    IMAGE_STATE      VARCHAR(16),                   -- JPEG, DICOM or NOT_RECEIVED
    SOURCE_UID       VARCHAR(64),                   -- SOP Instance UID of the SR naming it
    UPDATED_AT       DATETIME(6),
    CONSTRAINT ris_uq_report_image UNIQUE (EXAM_ID, SOP_INSTANCE_UID)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4;

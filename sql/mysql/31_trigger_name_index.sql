-- =====================================================================================================
-- 31_trigger_name_index.sql  (MySQL 5.7+ / MariaDB 10.6+)
--
-- 姓名检索触发器：ris_exam 新增、删除，或 PATIENT_NAME / EXAM_DATE / EXAM_ID 改变时，把 EXAM_KEY 插入
-- rai_name_queue（改检查号时新旧都插入）；模块每 http.name_queue_interval（默认 5 秒）据此重建检索词。
-- 只有 INSERT，在 RIS 自己的事务里执行。不装本脚本时模块按 http.name_rescan_interval 定期比对。
-- DBA 需要修改的地方：表名 ris_exam（三个 CREATE TRIGGER）；列名 PATIENT_NAME、EXAM_DATE、EXAM_ID
-- （与视图 rai_v_exam 的来源列相同）；姓名在患者表时，在患者表上建同样的 UPDATE 触发器，插入其所有检查的键。
-- 创建触发器需要 TRIGGER 权限（开启 binlog 时还需 log_bin_trust_function_creators 或 SUPER）。
--
-- Name-index trigger: a row of ris_exam inserted or deleted, or its PATIENT_NAME, EXAM_DATE or EXAM_ID
-- changed, queues the exam's key in rai_name_queue (both keys when the key changes); the module applies
-- the queue every http.name_queue_interval (5 s). One INSERT inside the RIS transaction. Without it the
-- rescan (http.name_rescan_interval) finds the changes. Change: the table ris_exam, the columns
-- PATIENT_NAME, EXAM_DATE, EXAM_ID (the view's sources); a name kept in a patient table needs the same
-- UPDATE trigger there. Needs the TRIGGER privilege. Re-runnable. Removal: 90_uninstall.sql.
-- =====================================================================================================

DROP TRIGGER IF EXISTS rai_trg_exam_name_ins;
DROP TRIGGER IF EXISTS rai_trg_exam_name_upd;
DROP TRIGGER IF EXISTS rai_trg_exam_name_del;

DELIMITER //

CREATE TRIGGER rai_trg_exam_name_ins
AFTER INSERT ON ris_exam
FOR EACH ROW
BEGIN
    INSERT INTO rai_name_queue (EXAM_KEY, QUEUED_AT) VALUES (NEW.EXAM_ID, UTC_TIMESTAMP(6));
END//

CREATE TRIGGER rai_trg_exam_name_upd
AFTER UPDATE ON ris_exam
FOR EACH ROW
BEGIN
    -- <=> is NULL-safe equality
    IF NOT (NEW.PATIENT_NAME <=> OLD.PATIENT_NAME) OR NOT (NEW.EXAM_DATE <=> OLD.EXAM_DATE)
       OR NOT (NEW.EXAM_ID <=> OLD.EXAM_ID) THEN
        INSERT INTO rai_name_queue (EXAM_KEY, QUEUED_AT) VALUES (OLD.EXAM_ID, UTC_TIMESTAMP(6));
        IF NOT (NEW.EXAM_ID <=> OLD.EXAM_ID) THEN
            INSERT INTO rai_name_queue (EXAM_KEY, QUEUED_AT) VALUES (NEW.EXAM_ID, UTC_TIMESTAMP(6));
        END IF;
    END IF;
END//

CREATE TRIGGER rai_trg_exam_name_del
AFTER DELETE ON ris_exam
FOR EACH ROW
BEGIN
    INSERT INTO rai_name_queue (EXAM_KEY, QUEUED_AT) VALUES (OLD.EXAM_ID, UTC_TIMESTAMP(6));
END//

DELIMITER ;

-- server-status counts certificates issued in the last hour by this index
CREATE INDEX certificates_issued ON certificates (issued);

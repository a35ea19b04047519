-- Masks personal data in a staging clone of a Bitrix24 portal (run by `npm run clone` on the clone's master only).
-- Every user keeps an account and a unique address; e-mails point at example.invalid, phones are removed.
UPDATE b_user SET
    EMAIL = CONCAT('user', ID, '@example.invalid'),
    PERSONAL_PHONE = NULL,
    PERSONAL_MOBILE = NULL,
    WORK_PHONE = NULL;

-- Width and height of each uploaded image, measured by a job (chat/measure) after the upload.
ALTER TABLE chat_attachments ADD COLUMN width integer, ADD COLUMN height integer;

-- chat/send's idempotency key: a message sent again after a lost answer is stored once.
ALTER TABLE chat_messages ADD COLUMN send_key text;
CREATE UNIQUE INDEX chat_messages_send_key ON chat_messages (user_name, send_key) WHERE send_key IS NOT NULL;

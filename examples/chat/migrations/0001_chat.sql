-- The chat's tables: accounts, rooms, who joined which room, messages and their image attachments.
CREATE TABLE chat_accounts (
    name text PRIMARY KEY,
    folded text NOT NULL CONSTRAINT chat_accounts_folded_key UNIQUE,  -- "ANN" and "ann" are one account
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chat_rooms (
    name text PRIMARY KEY,
    position bigserial NOT NULL,  -- creation order, as the room list shows them
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chat_memberships (
    room text NOT NULL REFERENCES chat_rooms (name) ON DELETE CASCADE,
    user_name text NOT NULL,
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room, user_name)
);

CREATE TABLE chat_attachments (
    id text PRIMARY KEY,
    owner text NOT NULL,
    name text NOT NULL,
    type text NOT NULL,
    size integer NOT NULL,
    data bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chat_messages (
    id bigserial PRIMARY KEY,
    room text NOT NULL REFERENCES chat_rooms (name) ON DELETE CASCADE,
    user_name text NOT NULL,
    text text NOT NULL,
    attachment_id text REFERENCES chat_attachments (id),
    at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX chat_messages_room_id ON chat_messages (room, id DESC);

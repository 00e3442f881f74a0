-- Who is online where when connections live on several gateways (the cluster; the monolith keeps it in memory).
CREATE TABLE chat_gateways (
    id text PRIMARY KEY,
    seen_at timestamptz NOT NULL DEFAULT now()  -- the gateway's last heartbeat
);

CREATE TABLE chat_presence (
    connection text NOT NULL,
    room text NOT NULL,
    user_name text NOT NULL,
    gateway text NOT NULL,  -- chat_gateways.id of the gateway that holds the connection
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection, room)
);
CREATE INDEX chat_presence_room ON chat_presence (room, user_name);
CREATE INDEX chat_presence_gateway ON chat_presence (gateway);

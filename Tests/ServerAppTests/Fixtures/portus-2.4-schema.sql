-- The schema of a Portus 2.4 PostgreSQL database, written for Portcullis's import tests from
-- SUSE/Portus `db/schema.postgresql.rb` (ActiveRecord schema version 2019_01_09_112643, the schema Portus
-- 2.4.x ships): the same tables, columns, types, defaults, NOT NULL constraints, indexes and foreign keys,
-- spelt as Rails 5.2 creates them on PostgreSQL (string → character varying, datetime → timestamp without
-- time zone, id: :serial → serial primary key). Rails' own bookkeeping tables are included.
-- The tests load this file into an empty database and insert their rows; nothing else reads it.

CREATE TABLE schema_migrations (version character varying PRIMARY KEY);
CREATE TABLE ar_internal_metadata (
    key character varying PRIMARY KEY,
    value character varying,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL
);

CREATE TABLE activities (
    id serial PRIMARY KEY,
    trackable_type character varying,
    trackable_id integer,
    owner_type character varying,
    owner_id integer,
    key character varying,
    parameters text,
    recipient_type character varying,
    recipient_id integer,
    created_at timestamp without time zone,
    updated_at timestamp without time zone
);
CREATE INDEX index_activities_on_key ON activities (key);
CREATE INDEX index_activities_on_owner_id_and_owner_type ON activities (owner_id, owner_type);
CREATE INDEX index_activities_on_recipient_id_and_recipient_type ON activities (recipient_id, recipient_type);
CREATE INDEX index_activities_on_trackable_id_and_trackable_type ON activities (trackable_id, trackable_type);
CREATE INDEX index_activities_on_trackable_type ON activities (trackable_type);

CREATE TABLE application_tokens (
    id serial PRIMARY KEY,
    application character varying NOT NULL,
    token_hash character varying NOT NULL,
    token_salt character varying NOT NULL,
    user_id integer NOT NULL
);
CREATE INDEX index_application_tokens_on_user_id ON application_tokens (user_id);

CREATE TABLE comments (
    id serial PRIMARY KEY,
    body text,
    repository_id integer,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    user_id integer
);
CREATE INDEX index_comments_on_repository_id ON comments (repository_id);
CREATE INDEX index_comments_on_user_id ON comments (user_id);

CREATE TABLE namespaces (
    id serial PRIMARY KEY,
    name character varying,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    team_id integer,
    registry_id integer NOT NULL,
    global boolean DEFAULT false,
    description text,
    visibility integer
);
CREATE UNIQUE INDEX index_namespaces_on_name_and_registry_id ON namespaces (name, registry_id);
CREATE INDEX index_namespaces_on_registry_id ON namespaces (registry_id);
CREATE INDEX index_namespaces_on_team_id ON namespaces (team_id);

CREATE TABLE registries (
    id serial PRIMARY KEY,
    name character varying NOT NULL,
    hostname character varying NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    use_ssl boolean,
    external_hostname character varying
);
CREATE UNIQUE INDEX index_registries_on_hostname ON registries (hostname);
CREATE UNIQUE INDEX index_registries_on_name ON registries (name);

CREATE TABLE registry_events (
    id serial PRIMARY KEY,
    event_id character varying DEFAULT '',
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    status integer DEFAULT 0,
    data text
);

CREATE TABLE repositories (
    id serial PRIMARY KEY,
    name character varying DEFAULT '' NOT NULL,
    namespace_id integer,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    marked boolean DEFAULT false,
    description text
);
CREATE UNIQUE INDEX index_repositories_on_name_and_namespace_id ON repositories (name, namespace_id);
CREATE INDEX index_repositories_on_namespace_id ON repositories (namespace_id);

CREATE TABLE scan_results (
    id serial PRIMARY KEY,
    tag_id integer,
    vulnerability_id integer,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL
);
CREATE INDEX index_scan_results_on_vulnerability_id_and_tag_id ON scan_results (vulnerability_id, tag_id);

CREATE TABLE stars (
    id serial PRIMARY KEY,
    user_id integer,
    repository_id integer,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL
);
CREATE INDEX index_stars_on_repository_id ON stars (repository_id);
CREATE INDEX index_stars_on_user_id ON stars (user_id);

CREATE TABLE tags (
    id serial PRIMARY KEY,
    name character varying DEFAULT 'latest' NOT NULL,
    repository_id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    user_id integer,
    digest character varying,
    image_id character varying DEFAULT '',
    marked boolean DEFAULT false,
    username character varying,
    scanned integer DEFAULT 0,
    size integer
);
CREATE INDEX index_tags_on_repository_id ON tags (repository_id);
CREATE INDEX index_tags_on_user_id ON tags (user_id);

CREATE TABLE team_users (
    id serial PRIMARY KEY,
    user_id integer,
    team_id integer,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    role integer DEFAULT 0
);
CREATE INDEX index_team_users_on_team_id ON team_users (team_id);
CREATE INDEX index_team_users_on_user_id ON team_users (user_id);

CREATE TABLE teams (
    id serial PRIMARY KEY,
    name character varying,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    hidden boolean DEFAULT false,
    description text,
    ldap_group_checked integer DEFAULT 0,
    checked_at timestamp without time zone
);
CREATE UNIQUE INDEX index_teams_on_name ON teams (name);

CREATE TABLE users (
    id serial PRIMARY KEY,
    username character varying DEFAULT '' NOT NULL,
    email character varying DEFAULT '',
    encrypted_password character varying DEFAULT '' NOT NULL,
    reset_password_token character varying,
    reset_password_sent_at timestamp without time zone,
    remember_created_at timestamp without time zone,
    sign_in_count integer DEFAULT 0 NOT NULL,
    current_sign_in_at timestamp without time zone,
    last_sign_in_at timestamp without time zone,
    current_sign_in_ip character varying,
    last_sign_in_ip character varying,
    created_at timestamp without time zone,
    updated_at timestamp without time zone,
    admin boolean DEFAULT false,
    enabled boolean DEFAULT true,
    ldap_name character varying,
    failed_attempts integer DEFAULT 0,
    locked_at timestamp without time zone,
    namespace_id integer,
    display_name character varying,
    provider character varying,
    uid character varying,
    bot boolean DEFAULT false,
    ldap_group_checked integer DEFAULT 0
);
CREATE UNIQUE INDEX index_users_on_display_name ON users (display_name);
CREATE UNIQUE INDEX index_users_on_email ON users (email);
CREATE INDEX index_users_on_namespace_id ON users (namespace_id);
CREATE UNIQUE INDEX index_users_on_reset_password_token ON users (reset_password_token);
CREATE UNIQUE INDEX index_users_on_username ON users (username);

CREATE TABLE vulnerabilities (
    id serial PRIMARY KEY,
    name character varying NOT NULL,
    scanner character varying DEFAULT '' NOT NULL,
    severity character varying DEFAULT '' NOT NULL,
    link character varying DEFAULT '' NOT NULL,
    fixed_by character varying DEFAULT '' NOT NULL,
    metadata text,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    description text
);
CREATE UNIQUE INDEX index_vulnerabilities_on_name ON vulnerabilities (name);

CREATE TABLE webhook_deliveries (
    id serial PRIMARY KEY,
    webhook_id integer,
    uuid character varying,
    status integer,
    request_header text,
    request_body text,
    response_header text,
    response_body text,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL
);
CREATE UNIQUE INDEX index_webhook_deliveries_on_webhook_id_and_uuid ON webhook_deliveries (webhook_id, uuid);
CREATE INDEX index_webhook_deliveries_on_webhook_id ON webhook_deliveries (webhook_id);

CREATE TABLE webhook_headers (
    id serial PRIMARY KEY,
    webhook_id integer,
    name character varying,
    value character varying,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL
);
CREATE UNIQUE INDEX index_webhook_headers_on_webhook_id_and_name ON webhook_headers (webhook_id, name);
CREATE INDEX index_webhook_headers_on_webhook_id ON webhook_headers (webhook_id);

CREATE TABLE webhooks (
    id serial PRIMARY KEY,
    namespace_id integer,
    url character varying,
    username character varying,
    password character varying,
    request_method integer,
    content_type integer,
    enabled boolean DEFAULT false,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    name character varying NOT NULL
);
CREATE INDEX index_webhooks_on_namespace_id ON webhooks (namespace_id);

ALTER TABLE comments ADD CONSTRAINT fk_rails_comments_repositories FOREIGN KEY (repository_id) REFERENCES repositories (id);
ALTER TABLE stars ADD CONSTRAINT fk_rails_stars_repositories FOREIGN KEY (repository_id) REFERENCES repositories (id);
ALTER TABLE stars ADD CONSTRAINT fk_rails_stars_users FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE users ADD CONSTRAINT fk_rails_users_namespaces FOREIGN KEY (namespace_id) REFERENCES namespaces (id);
ALTER TABLE webhook_deliveries ADD CONSTRAINT fk_rails_webhook_deliveries_webhooks FOREIGN KEY (webhook_id) REFERENCES webhooks (id);
ALTER TABLE webhook_headers ADD CONSTRAINT fk_rails_webhook_headers_webhooks FOREIGN KEY (webhook_id) REFERENCES webhooks (id);
ALTER TABLE webhooks ADD CONSTRAINT fk_rails_webhooks_namespaces FOREIGN KEY (namespace_id) REFERENCES namespaces (id);

INSERT INTO schema_migrations (version) VALUES ('20190109112643');
INSERT INTO ar_internal_metadata (key, value, created_at, updated_at)
VALUES ('environment', 'production', now(), now());

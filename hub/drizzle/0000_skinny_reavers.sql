CREATE TABLE "api_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"token_hash" text NOT NULL,
	"kind" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "api_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "devices" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"fleet_id" text NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"public_key" text NOT NULL,
	"mqtt_secret_hash" text NOT NULL,
	"online" boolean DEFAULT false NOT NULL,
	"session" bigint DEFAULT 0 NOT NULL,
	"last_seen_at" timestamp with time zone,
	"info" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"enrolled_at" timestamp with time zone DEFAULT now() NOT NULL,
	"enrolled_with" text,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "devices_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "fleets" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "fleets_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "provisioning_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"fleet_id" text NOT NULL,
	"token_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"max_uses" integer NOT NULL,
	"uses" integer DEFAULT 0 NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provisioning_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "telemetry_1m" (
	"device_id" text NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	"samples" integer NOT NULL,
	"cpu" double precision,
	"cpu_max" double precision,
	"load1" double precision,
	"mem_used" double precision,
	"mem_total" double precision,
	"disk_used" double precision,
	"disk_total" double precision,
	"temp" double precision,
	"temp_max" double precision,
	"throttled" integer,
	"net_rx" double precision,
	"net_tx" double precision,
	"uptime" double precision,
	"agent_rss" double precision,
	"agent_cpu" double precision,
	CONSTRAINT "telemetry_1m_device_id_minute_pk" PRIMARY KEY("device_id","minute")
);
--> statement-breakpoint
CREATE TABLE "telemetry_raw" (
	"device_id" text NOT NULL,
	"ts" timestamp with time zone NOT NULL,
	"cpu" double precision,
	"load1" double precision,
	"load5" double precision,
	"load15" double precision,
	"mem_used" double precision,
	"mem_total" double precision,
	"disk_used" double precision,
	"disk_total" double precision,
	"temp" double precision,
	"throttled" integer,
	"net_rx" double precision,
	"net_tx" double precision,
	"uptime" double precision,
	"agent_rss" double precision,
	"agent_cpu" double precision,
	CONSTRAINT "telemetry_raw_device_id_ts_pk" PRIMARY KEY("device_id","ts")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" text PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"password_hash" text NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"disabled_at" timestamp with time zone,
	CONSTRAINT "users_username_unique" UNIQUE("username")
);
--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "devices" ADD CONSTRAINT "devices_fleet_id_fleets_id_fk" FOREIGN KEY ("fleet_id") REFERENCES "public"."fleets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provisioning_tokens" ADD CONSTRAINT "provisioning_tokens_fleet_id_fleets_id_fk" FOREIGN KEY ("fleet_id") REFERENCES "public"."fleets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provisioning_tokens" ADD CONSTRAINT "provisioning_tokens_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_tokens_user_idx" ON "api_tokens" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "devices_fleet_idx" ON "devices" USING btree ("fleet_id");--> statement-breakpoint
CREATE INDEX "telemetry_1m_minute_idx" ON "telemetry_1m" USING btree ("minute");--> statement-breakpoint
CREATE INDEX "telemetry_raw_ts_idx" ON "telemetry_raw" USING btree ("ts");
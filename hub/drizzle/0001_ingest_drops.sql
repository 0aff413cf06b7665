CREATE TABLE "ingest_drops" (
	"device_id" text NOT NULL,
	"stream" text NOT NULL,
	"reason" text NOT NULL,
	"count" bigint NOT NULL,
	"first_at" timestamp with time zone NOT NULL,
	"last_at" timestamp with time zone NOT NULL,
	CONSTRAINT "ingest_drops_device_id_stream_reason_pk" PRIMARY KEY("device_id","stream","reason")
);

/** Injection tokens for infrastructure values that are not classes. */
export const DB = Symbol('DB'); // Db (drizzle)
export const DB_HANDLE = Symbol('DB_HANDLE'); // DbHandle (driver, ping, close)
export const LOGGER = Symbol('LOGGER'); // pino.Logger
export const BROKER_ADMIN = Symbol('BROKER_ADMIN'); // BrokerAdmin (broker/broker-admin.ts)

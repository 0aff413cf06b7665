import bcrypt from 'bcryptjs';

/** Cost 10 is ~70 ms per check in bcryptjs: slow for guessing, fine for a login form. */
const COST = 10;

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, COST);
}

export function checkPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

/**
 * Compared against when the user does not exist, so a bad login takes as long as a bad password
 * and does not reveal which usernames exist.
 */
export const DUMMY_HASH = bcrypt.hashSync('pifleet-no-such-user', COST);

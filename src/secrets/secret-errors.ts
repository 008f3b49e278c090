import { appError, type AppError } from '../shared/errors.js';

/** The errors every SecretStore answers with (the contract suite checks their codes). */

export function secretNotFound(idOrName: string): AppError {
  return appError('GANTRY_ERR_SECRET_NOT_FOUND', `no secret with id or name "${idOrName}"`);
}

/** The message contains "already exists", which the vendor CLI matches. */
export function secretNameTaken(name: string): AppError {
  return appError('GANTRY_ERR_SECRET_EXISTS', `a secret named "${name}" already exists`, { param: 'name' });
}

export function secretIdCollision(): AppError {
  return appError('GANTRY_ERR_STATE_CONFLICT', 'a secret with this id already exists; try again');
}

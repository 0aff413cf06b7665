import { Injectable } from '@nestjs/common';
import type { CreateUserRequest, User } from '../contract.js';
import { DomainError } from '../common/errors.js';
import { randomId } from '../common/ids.js';
import { hashPassword } from './passwords.js';
import { UsersRepository } from './users.repository.js';

@Injectable()
export class UsersService {
  constructor(private readonly repo: UsersRepository) {}

  list(): Promise<User[]> {
    return this.repo.list();
  }

  async create(req: CreateUserRequest): Promise<User> {
    const passwordHash = await hashPassword(req.password);
    const user = await this.repo.insert({ id: randomId(16), username: req.username, passwordHash, role: req.role });
    if (!user) throw new DomainError('conflict', `user ${req.username} already exists`);
    return user;
  }
}

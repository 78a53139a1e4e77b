/**
 * The admin API's users (the local user table) and their documents:
 *
 *   GET    /admin/users                      [{xui, admin}]
 *   POST   /admin/users                      {xui, password, admin?}: 201; 409 when the user exists
 *                                            or would be in a second realm without auth.defaultDomain
 *   DELETE /admin/users/XUI                  204; the user's documents stay (an XCAP DELETE removes them)
 *   POST   /admin/users/XUI/password         {password}: 204, realm and admin flag kept
 *   GET    /admin/users/XUI/documents        [{auid, document, etag, modified}]
 *
 * An XUI the server does not know is 404 and nothing is created for it. Passwords are never
 * logged or echoed. A new user or password works at once everywhere (a refused cached login
 * is looked up again); a removed user or an old password is refused at once in the process
 * that made the change and within a second in the others (`serve --workers N`, other
 * replicas: src/auth/user-changes.ts).
 */
import { addLocalUser, SecondRealm } from '../../auth/add-user.ts';
import { EmptyPassword, InvalidXui, UserExists, type LocalUsers } from '../../auth/local-users.ts';
import type { UserSource } from '../../auth/types.ts';
import type { Config } from '../../config/schema.ts';
import type { DocumentStore } from '../../store/types.ts';
import { BadRequest, HttpError, NotFound } from '../../xcap/errors.ts';
import type { AdminKit } from '../admin.ts';

export interface UserRoutesOptions {
  /** The table users are added to, removed from and listed from. */
  readonly localUsers: LocalUsers;
  /** Every configured source (an htdigest or subscriber user has documents too). */
  readonly users: Pick<UserSource, 'find'>;
  readonly authConfig: Pick<Config['auth'], 'realm' | 'defaultDomain'>;
  readonly store: Pick<DocumentStore, 'list'>;
  /** Drops cached logins after a change here, so it takes effect at once in this process. */
  readonly forgetUsers: () => void;
}

export function mountUserRoutes(kit: AdminKit, opts: UserRoutesOptions): void {
  kit.route('get', '/admin/users', async (_req, res) => {
    res.json({ users: await opts.localUsers.list() });
  });

  kit.route('post', '/admin/users', async (req, res) => {
    const { xui, password, admin } = await kit.readJson(req, res);
    if (typeof xui !== 'string' || typeof password !== 'string' || (admin !== undefined && typeof admin !== 'boolean')) {
      throw new BadRequest('expected JSON {xui: "sip:user@domain", password, admin?: boolean}');
    }
    try {
      const realm = await addLocalUser(opts.localUsers, opts.authConfig, xui, password, { admin: admin === true });
      opts.forgetUsers();
      res.status(201).json({ xui, admin: admin === true, realm });
    } catch (err) {
      if (err instanceof InvalidXui || err instanceof EmptyPassword) throw new BadRequest(err.message);
      if (err instanceof UserExists || err instanceof SecondRealm) throw new HttpError(409, err.message);
      throw err;
    }
  });

  kit.route('delete', '/admin/users/:xui', async (req, res) => {
    const xui = String(req.params.xui);
    if (!(await opts.localUsers.remove(xui))) throw new NotFound(`no user ${xui}`);
    opts.forgetUsers();
    res.status(204).end();
  });

  kit.route('post', '/admin/users/:xui/password', async (req, res) => {
    const xui = String(req.params.xui);
    const { password } = await kit.readJson(req, res);
    if (typeof password !== 'string') throw new BadRequest('expected JSON {password}');
    try {
      if (!(await opts.localUsers.setPassword(xui, password))) throw new NotFound(`no user ${xui}`);
      opts.forgetUsers();
    } catch (err) {
      if (err instanceof EmptyPassword) throw new BadRequest(err.message);
      throw err;
    }
    res.status(204).end();
  });

  kit.route('get', '/admin/users/:xui/documents', async (req, res) => {
    const xui = String(req.params.xui);
    if ((await opts.users.find(xui)) === undefined) throw new NotFound(`no user ${xui}`);
    const documents = [];
    for await (const d of opts.store.list({ xui })) documents.push({ auid: d.key.auid, document: d.key.path, etag: d.etag, modified: d.modified });
    res.json({ xui, documents });
  });
}

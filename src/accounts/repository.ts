import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import { AppError, conflict, notFound } from '../http/errors.js';
import { pageById } from '../lib/cursor.js';
import { generateIdentifier, generateSecret, type SecretHasher } from '../lib/secrets.js';
import type { DB, Merchant } from '../db/schema.js';
import type { Caller } from './caller.js';
import { CODE_PATTERN, mayActOnMerchant } from './caller.js';

const isUniqueViolation = (e: unknown) => (e as { code?: string } | null)?.code === '23505';

export type MerchantRef = Pick<Merchant, 'id' | 'code' | 'warehouse_id'>;

export interface IssuedCredential {
  api_user: string;
  api_key: string;
}

export interface CredentialView {
  api_user: string;
  scope: 'warehouse' | 'merchant';
  warehouse: string | null;
  merchant: string | null;
  label: string | null;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/** How often a credential's last_used_at may move: enough to find unused keys, cheap to keep. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface MerchantView {
  code: string;
  name: string;
  warehouse: string | null;
  created_at: Date;
  normalise_addresses: boolean;
  disabled: boolean;
  disabled_at: Date | null;
}

function merchantView(m: {
  code: string;
  name: string;
  warehouse: string | null;
  created_at: Date;
  normalise_addresses: boolean;
  disabled_at: Date | null;
}): MerchantView {
  return {
    code: m.code,
    name: m.name,
    warehouse: m.warehouse,
    created_at: m.created_at,
    normalise_addresses: m.normalise_addresses,
    disabled: m.disabled_at !== null,
    disabled_at: m.disabled_at,
  };
}

/** SQL condition for "this merchant is enabled", for any module that must skip disabled merchants. */
export const merchantEnabledSql = (merchantIdColumn: string) =>
  sql<boolean>`not exists (select 1 from merchants dm where dm.id = ${sql.ref(merchantIdColumn)} and dm.disabled_at is not null)`;

export class AccountsRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly hasher: SecretHasher,
    private readonly log?: Pick<Logger, 'error'>,
  ) {}

  /**
   * Authenticates an api_user/api_key pair. Unknown users cost the same as wrong keys.
   * 'disabled': the key is right but its merchant is disabled (still a 401).
   */
  async authenticate(apiUser: string, apiKey: string): Promise<Caller | 'disabled' | undefined> {
    const row = await this.db
      .selectFrom('credentials as c')
      .leftJoin('warehouses as w', 'w.id', 'c.warehouse_id')
      .leftJoin('merchants as m', 'm.id', 'c.merchant_id')
      .select([
        'c.id',
        'c.key_hash',
        'c.revoked_at',
        'c.warehouse_id',
        'c.merchant_id',
        'w.code as warehouse_code',
        'm.code as merchant_code',
        'm.warehouse_id as merchant_warehouse_id',
        'm.disabled_at as merchant_disabled_at',
        'c.last_used_at',
      ])
      .where('c.api_user', '=', apiUser)
      .executeTakeFirst();
    const ok = this.hasher.verify(apiKey, row && !row.revoked_at ? row.key_hash : undefined);
    if (!ok || !row) return undefined;
    if (row.merchant_disabled_at) return 'disabled';
    this.noteUse(row.id, row.last_used_at);
    if (row.warehouse_id !== null) {
      return {
        kind: 'warehouse',
        credentialId: row.id,
        apiUser,
        warehouseId: row.warehouse_id,
        warehouseCode: row.warehouse_code!,
      };
    }
    return {
      kind: 'merchant',
      credentialId: row.id,
      apiUser,
      merchantId: row.merchant_id!,
      merchantCode: row.merchant_code!,
      warehouseId: row.merchant_warehouse_id ?? null,
    };
  }

  /**
   * Moves last_used_at at most once a minute, off the request's path: most requests find it fresh
   * and write nothing; the conditional UPDATE keeps concurrent instances from writing twice. A failure
   * is logged, never the request's failure.
   */
  private noteUse(credentialId: number, lastUsedAt: Date | null): void {
    if (lastUsedAt && Date.now() - lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    sql`update credentials set last_used_at = now()
      where id = ${credentialId}
        and (last_used_at is null or last_used_at < now() - make_interval(secs => ${LAST_USED_RESOLUTION_MS / 1000}))`
      .execute(this.db)
      .catch((err: unknown) => this.log?.error({ err, code: 'internal' }, 'could not record last_used_at'));
  }

  private async issue(
    trx: Kysely<DB>,
    owner: { warehouse_id: number } | { merchant_id: number },
    createdBy: string,
    label?: string,
  ): Promise<IssuedCredential> {
    const prefix = 'warehouse_id' in owner ? 'wh' : 'mc';
    const api_user = generateIdentifier(prefix);
    const api_key = generateSecret(24);
    await trx
      .insertInto('credentials')
      .values({
        api_user,
        key_hash: this.hasher.hash(api_key),
        warehouse_id: 'warehouse_id' in owner ? owner.warehouse_id : null,
        merchant_id: 'merchant_id' in owner ? owner.merchant_id : null,
        label: label ?? null,
        created_by: createdBy,
      })
      .execute();
    return { api_user, api_key };
  }

  async createWarehouse(code: string, name: string) {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const warehouse = await trx
          .insertInto('warehouses')
          .values({ code, name })
          .returning(['id', 'code', 'name', 'created_at'])
          .executeTakeFirstOrThrow();
        const credential = await this.issue(trx, { warehouse_id: warehouse.id }, 'admin');
        return {
          warehouse: { code: warehouse.code, name: warehouse.name, created_at: warehouse.created_at },
          credential,
        };
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`a warehouse with code '${code}' already exists`);
      throw e;
    }
  }

  async createMerchant(
    caller: Caller,
    input: { code: string; name: string; warehouse?: string | undefined },
  ) {
    let warehouseId: number | null = null;
    let warehouseCode: string | null = null;
    if (caller.kind === 'warehouse') {
      if (input.warehouse !== undefined && input.warehouse !== caller.warehouseCode) {
        throw new AppError(
          'invalid_request',
          'a warehouse credential creates merchants under its own warehouse',
          [{ path: 'warehouse', message: `must be omitted or '${caller.warehouseCode}'` }],
        );
      }
      warehouseId = caller.warehouseId;
      warehouseCode = caller.warehouseCode;
    } else if (caller.kind === 'admin') {
      if (input.warehouse !== undefined) {
        const w = await this.db
          .selectFrom('warehouses')
          .select(['id', 'code'])
          .where('code', '=', input.warehouse)
          .executeTakeFirst();
        if (!w) {
          throw new AppError('invalid_request', `warehouse '${input.warehouse}' does not exist`, [
            { path: 'warehouse', message: 'no warehouse with this code' },
          ]);
        }
        warehouseId = w.id;
        warehouseCode = w.code;
      }
    } else {
      throw new AppError('forbidden', 'a merchant credential cannot create merchants');
    }
    const createdBy = caller.kind === 'admin' ? 'admin' : caller.apiUser;
    try {
      return await this.db.transaction().execute(async (trx) => {
        const m = await trx
          .insertInto('merchants')
          .values({ code: input.code, name: input.name, warehouse_id: warehouseId })
          .returning(['id', 'code', 'name', 'created_at', 'normalise_addresses', 'disabled_at'])
          .executeTakeFirstOrThrow();
        const credential = await this.issue(trx, { merchant_id: m.id }, createdBy);
        return { merchant: merchantView({ ...m, warehouse: warehouseCode }), credential };
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`a merchant with code '${input.code}' already exists`);
      throw e;
    }
  }

  /**
   * The merchant with this code, if the caller may act on it; otherwise 404 (never a hint it exists).
   * Only its identity: a merchant caller is answered from its credential without a read.
   */
  async merchantFor(caller: Caller, code: string): Promise<MerchantRef> {
    if (caller.kind === 'merchant' && caller.merchantCode === code) {
      return { id: caller.merchantId, code, warehouse_id: caller.warehouseId };
    }
    // A code that cannot be one names no merchant (and never reaches SQL: it may hold NUL).
    const m = CODE_PATTERN.test(code)
      ? await this.db
          .selectFrom('merchants')
          .select(['id', 'code', 'warehouse_id'])
          .where('code', '=', code)
          .executeTakeFirst()
      : undefined;
    if (!m || !mayActOnMerchant(caller, m)) throw notFound(`merchant '${code}'`);
    return m;
  }

  private merchantsQuery() {
    return this.db
      .selectFrom('merchants as m')
      .leftJoin('warehouses as w', 'w.id', 'm.warehouse_id')
      .select([
        'm.id',
        'm.code',
        'm.name',
        'w.code as warehouse',
        'm.warehouse_id',
        'm.created_at',
        'm.normalise_addresses',
        'm.disabled_at',
      ]);
  }

  async listMerchants(caller: Caller, cursor: number | undefined, limit: number) {
    let q = this.merchantsQuery()
      .orderBy('m.id')
      .limit(limit + 1);
    if (caller.kind === 'warehouse') q = q.where('m.warehouse_id', '=', caller.warehouseId);
    if (caller.kind === 'merchant') q = q.where('m.id', '=', caller.merchantId);
    if (cursor !== undefined) q = q.where('m.id', '>', cursor);
    const page = pageById(await q.execute(), limit);
    return { rows: page.rows.map(merchantView), next: page.next };
  }

  async getMerchant(caller: Caller, code: string): Promise<MerchantView> {
    const m = await this.merchantsQuery().where('m.code', '=', code).executeTakeFirst();
    if (!m || !mayActOnMerchant(caller, m)) throw notFound(`merchant '${code}'`);
    return merchantView(m);
  }

  /**
   * Renames a merchant, switches its address normalisation, disables or enables it. Only the
   * operator or the merchant's warehouse may disable or enable it. Enabling marks every order that
   * changed while it was disabled as modified now, so ShipStation's next import (whose windows
   * passed while the stores exported empty pages) picks them up.
   */
  async updateMerchant(
    caller: Caller,
    code: string,
    patch: {
      name?: string | undefined;
      normalise_addresses?: boolean | undefined;
      disabled?: boolean | undefined;
    },
    /** Runs in the change's transaction when normalise_addresses changed (open orders are re-evaluated). */
    onNormaliseChanged?: (trx: Kysely<DB>, merchantId: number) => Promise<void>,
  ): Promise<MerchantView> {
    const m = await this.merchantsQuery().where('m.code', '=', code).executeTakeFirst();
    if (!m || !mayActOnMerchant(caller, m)) throw notFound(`merchant '${code}'`);
    if (patch.disabled !== undefined && caller.kind === 'merchant') {
      throw new AppError(
        'forbidden',
        "only the operator or the merchant's warehouse may disable or enable it",
        [{ path: 'disabled', message: 'not allowed with a merchant credential' }],
      );
    }
    await this.db.transaction().execute(async (trx) => {
      const now = await trx
        .updateTable('merchants')
        .set({
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.normalise_addresses !== undefined
            ? { normalise_addresses: patch.normalise_addresses }
            : {}),
          ...(patch.disabled === true ? { disabled_at: sql<Date>`coalesce(disabled_at, now())` } : {}),
          ...(patch.disabled === false ? { disabled_at: null } : {}),
        })
        .where('id', '=', m.id)
        .returning(['disabled_at'])
        .executeTakeFirstOrThrow();
      if (
        onNormaliseChanged &&
        patch.normalise_addresses !== undefined &&
        patch.normalise_addresses !== m.normalise_addresses
      ) {
        await onNormaliseChanged(trx, m.id);
      }
      if (patch.disabled === false && m.disabled_at && now.disabled_at === null) {
        await trx
          .updateTable('orders')
          .set({ last_modified: sql<Date>`now()` })
          .where('merchant_id', '=', m.id)
          .where('last_modified', '>=', m.disabled_at)
          .execute();
      }
    });
    return this.getMerchant(caller, code);
  }

  /** The warehouse with this code, if the caller may act on it; otherwise 404. */
  async warehouseFor(caller: Caller, code: string) {
    if (!CODE_PATTERN.test(code)) throw notFound(`warehouse '${code}'`);
    return this.db
      .selectFrom('warehouses')
      .select(['id', 'code', 'name', 'created_at'])
      .where('code', '=', code)
      .executeTakeFirst()
      .then((w) => {
        const allowed =
          w && (caller.kind === 'admin' || (caller.kind === 'warehouse' && caller.warehouseId === w.id));
        if (!w || !allowed) throw notFound(`warehouse '${code}'`);
        return w;
      });
  }

  async listWarehouses(cursor: number | undefined, limit: number) {
    let q = this.db
      .selectFrom('warehouses')
      .select(['id', 'code', 'name', 'created_at'])
      .orderBy('id')
      .limit(limit + 1);
    if (cursor !== undefined) q = q.where('id', '>', cursor);
    const page = pageById(await q.execute(), limit);
    return { rows: page.rows.map(({ id: _id, ...w }) => w), next: page.next };
  }

  async getWarehouse(caller: Caller, code: string) {
    const { id: _id, ...w } = await this.warehouseFor(caller, code);
    return w;
  }

  /** The id of a warehouse the caller may act on (404 otherwise). */
  async warehouseIdFor(caller: Caller, code: string): Promise<number> {
    return (await this.warehouseFor(caller, code)).id;
  }

  async updateWarehouse(caller: Caller, code: string, patch: { name?: string | undefined }) {
    const w = await this.warehouseFor(caller, code);
    if (patch.name !== undefined) {
      await this.db.updateTable('warehouses').set({ name: patch.name }).where('id', '=', w.id).execute();
    }
    return this.getWarehouse(caller, code);
  }

  async createMerchantCredential(
    caller: Caller,
    merchantCode: string,
    label?: string,
  ): Promise<IssuedCredential> {
    const m = await this.merchantFor(caller, merchantCode);
    return this.issue(
      this.db,
      { merchant_id: m.id },
      caller.kind === 'admin' ? 'admin' : caller.apiUser,
      label,
    );
  }

  async createWarehouseCredential(
    caller: Caller,
    warehouseCode: string,
    label?: string,
  ): Promise<IssuedCredential> {
    const w = await this.warehouseFor(caller, warehouseCode);
    return this.issue(
      this.db,
      { warehouse_id: w.id },
      caller.kind === 'admin' ? 'admin' : caller.apiUser,
      label,
    );
  }

  private credentialsQuery(caller: Caller) {
    let q = this.db
      .selectFrom('credentials as c')
      .leftJoin('warehouses as w', 'w.id', 'c.warehouse_id')
      .leftJoin('merchants as m', 'm.id', 'c.merchant_id')
      .leftJoin('warehouses as mw', 'mw.id', 'm.warehouse_id')
      .select([
        'c.id',
        'c.api_user',
        'c.label',
        'c.created_at',
        'c.revoked_at',
        'c.last_used_at',
        'w.code as warehouse_code',
        'm.code as merchant_code',
        'mw.code as merchant_warehouse_code',
      ]);
    if (caller.kind === 'warehouse') {
      const wid = caller.warehouseId;
      q = q.where((eb) => eb.or([eb('c.warehouse_id', '=', wid), eb('m.warehouse_id', '=', wid)]));
    } else if (caller.kind === 'merchant') {
      q = q.where('c.merchant_id', '=', caller.merchantId);
    }
    return q;
  }

  async listCredentials(caller: Caller, cursor: number | undefined, limit: number) {
    let q = this.credentialsQuery(caller)
      .orderBy('c.id')
      .limit(limit + 1);
    if (cursor !== undefined) q = q.where('c.id', '>', cursor);
    const page = pageById(await q.execute(), limit);
    const views: CredentialView[] = page.rows.map((r) => ({
      api_user: r.api_user,
      scope: r.warehouse_code ? 'warehouse' : 'merchant',
      warehouse: r.warehouse_code ?? r.merchant_warehouse_code ?? null,
      merchant: r.merchant_code ?? null,
      label: r.label,
      created_at: r.created_at,
      revoked_at: r.revoked_at,
      last_used_at: r.last_used_at,
    }));
    return { rows: views, next: page.next };
  }

  async revokeCredential(caller: Caller, apiUser: string): Promise<void> {
    const row = await this.credentialsQuery(caller).where('c.api_user', '=', apiUser).executeTakeFirst();
    if (!row) throw notFound(`credential '${apiUser}'`);
    await this.db
      .updateTable('credentials')
      .set({ revoked_at: new Date() })
      .where('id', '=', row.id)
      .where('revoked_at', 'is', null)
      .execute();
  }
}

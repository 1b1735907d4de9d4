/** Who is calling the REST API, as established by authentication. Pure types, no I/O. */
export type Caller =
  | { kind: 'admin' }
  | { kind: 'warehouse'; credentialId: number; apiUser: string; warehouseId: number; warehouseCode: string }
  | {
      kind: 'merchant';
      credentialId: number;
      apiUser: string;
      merchantId: number;
      merchantCode: string;
      warehouseId: number | null;
    };

/** How the caller is named in order events and logs (never a secret). */
export function actorOf(caller: Caller): { actor_type: 'admin' | 'credential'; actor: string } {
  return caller.kind === 'admin'
    ? { actor_type: 'admin', actor: 'admin' }
    : { actor_type: 'credential', actor: caller.apiUser };
}

/** May this caller act on a merchant with this id and warehouse? */
export function mayActOnMerchant(
  caller: Caller,
  merchant: { id: number; warehouse_id: number | null },
): boolean {
  switch (caller.kind) {
    case 'admin':
      return true;
    case 'warehouse':
      return merchant.warehouse_id === caller.warehouseId;
    case 'merchant':
      return merchant.id === caller.merchantId;
  }
}

/** May this caller act on the warehouse with this id (its own account: admin or that warehouse)? */
export function mayActOnWarehouse(caller: Caller, warehouseId: number): boolean {
  return caller.kind === 'admin' || (caller.kind === 'warehouse' && caller.warehouseId === warehouseId);
}

export const CODE_PATTERN = /^[A-Za-z0-9_-]{1,50}$/;

/** A credential row's owner, as read with its warehouse or merchant. */
export interface CredentialOwnerRow {
  id: number;
  api_user: string;
  warehouse_id: number | null;
  warehouse_code: string | null;
  merchant_id: number | null;
  merchant_code: string | null;
  merchant_warehouse_id: number | null;
}

/** The caller a credential makes (the console's session lookup; a sign-in with api_user and api_key). */
export function callerOfCredential(row: CredentialOwnerRow): Caller {
  if (row.warehouse_id !== null) {
    return {
      kind: 'warehouse',
      credentialId: row.id,
      apiUser: row.api_user,
      warehouseId: row.warehouse_id,
      warehouseCode: row.warehouse_code!,
    };
  }
  return {
    kind: 'merchant',
    credentialId: row.id,
    apiUser: row.api_user,
    merchantId: row.merchant_id!,
    merchantCode: row.merchant_code!,
    warehouseId: row.merchant_warehouse_id ?? null,
  };
}

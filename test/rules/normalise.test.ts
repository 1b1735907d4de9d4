import fc from 'fast-check';
import t from 'tap';
import { EMPTY_ADDRESS } from '../../src/orders/types.js';
import { attnName, normaliseAddress, tidy } from '../../src/rules/normalise.js';

const addr = (a: Record<string, string | null>) => ({ ...EMPTY_ADDRESS, ...a });

t.test('whitespace tidy', async (t) => {
  t.equal(tidy('  a \t b\n\u00a0c  '), 'a b c');
  t.equal(tidy(' \t '), null);
  t.equal(tidy(null), null);
  t.equal(tidy('abc'), 'abc');
});

t.test('ATTN markers: which lines are ATTN lines', async (t) => {
  t.equal(attnName('ATTN: Jo Smith'), 'Jo Smith');
  t.equal(attnName('ATTN Jo'), 'Jo');
  t.equal(attnName('Attn Jo'), 'Jo');
  t.equal(attnName('attn. Jo'), 'Jo');
  t.equal(attnName('Attention: Receiving'), 'Receiving');
  t.equal(attnName('Attention:Receiving'), 'Receiving');
  t.equal(attnName('c/o Jo Smith'), 'Jo Smith');
  t.equal(attnName('C/O Jo'), 'Jo');
  t.equal(attnName('Attnborough Road 4'), null, 'a street that starts with the letters');
  t.equal(attnName('Attention Street'), null, 'Attention needs its colon');
  t.equal(attnName('c/oxford'), null);
  t.equal(attnName('ATTN:'), null, 'nobody named');
  t.equal(attnName('1 Main St'), null);
});

t.test('an ATTN line goes to the name, else the company, else stays; streets close up', async (t) => {
  t.same(
    normaliseAddress(addr({ name: null, street1: 'Attn: Jo', street2: '1 Main St' })),
    addr({ name: 'Jo', street1: '1 Main St' }),
  );
  t.same(
    normaliseAddress(addr({ name: 'Ann', street1: '1 Main St', street2: 'c/o Acme Ltd', street3: 'Unit 4' })),
    addr({ name: 'Ann', company: 'Acme Ltd', street1: '1 Main St', street2: 'Unit 4' }),
  );
  t.same(
    normaliseAddress(addr({ name: 'Ann', company: 'Acme', street1: 'ATTN Bob', street2: '1 Main St' })),
    addr({ name: 'Ann', company: 'Acme', street1: 'ATTN Bob', street2: '1 Main St' }),
    'name and company taken: it stays',
  );
  t.same(
    normaliseAddress(
      addr({ name: null, street1: 'ATTN: Jo', street2: 'ATTN: Acme', street3: 'ATTN: Third' }),
    ),
    addr({ name: 'Jo', company: 'Acme', street1: 'ATTN: Third' }),
  );
  const long = `ATTN ${'x'.repeat(101)}`;
  t.same(
    normaliseAddress(addr({ name: 'Ann', street1: long })),
    addr({ name: 'Ann', street1: long }),
    'too long to move',
  );
  t.same(
    normaliseAddress(addr({ name: 'Ann', street1: '  ', street2: ' 1   Main St ' })),
    addr({ name: 'Ann', street1: '1 Main St' }),
  );
});

t.test('property: normalising twice changes nothing more', async (t) => {
  const line = fc.oneof(
    fc.constantFrom(
      null,
      '',
      '  ',
      'ATTN: Jo',
      'c/o  Acme',
      'Attention: Dock 4',
      'attn',
      '1 Main St',
      'Suite\t9',
    ),
    fc.string({ maxLength: 12 }),
  );
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(
        fc.record({
          name: line,
          company: line,
          street1: line,
          street2: line,
          street3: line,
          city: line,
        }),
        (a) => {
          const once = normaliseAddress(addr(a));
          const twice = normaliseAddress(once);
          if (JSON.stringify(once) !== JSON.stringify(twice))
            throw new Error(JSON.stringify({ once, twice }));
        },
      ),
      { numRuns: 500 },
    ),
  );
});

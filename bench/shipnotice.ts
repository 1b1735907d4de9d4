/**
 * The ShipNotice body the benchmarks post as ShipStation would (a UPS label for an order of the
 * data set; `partial` ships one unit of its first line, else every line). run.ts and hot-explain.ts
 * post the same body, so their per-notice figures compare.
 */
export interface NoticeOrder {
  id: number;
  order_number: string;
  lines: { id: number; sku: string | null; name: string | null }[];
}

export function noticeXml(t: NoticeOrder, tracking: string, partial: boolean): string {
  const l = t.lines[0];
  const items =
    partial && l
      ? `<Items><Item><LineItemID>${l.id}</LineItemID><SKU><![CDATA[${l.sku ?? ''}]]></SKU>` +
        `<Name><![CDATA[${l.name ?? ''}]]></Name><Quantity>1</Quantity></Item></Items>`
      : '';
  return (
    '<?xml version="1.0" encoding="utf-8"?><ShipNotice>' +
    `<OrderNumber><![CDATA[${t.order_number}]]></OrderNumber><OrderID>${t.id}</OrderID>` +
    '<CustomerCode>C1</CustomerCode><NotifyCustomer>false</NotifyCustomer>' +
    '<LabelCreateDate>11/22/2026 04:30</LabelCreateDate><ShipDate>11/22/2026</ShipDate>' +
    `<Carrier>UPS</Carrier><Service>UPS Ground</Service><TrackingNumber>${tracking}</TrackingNumber>` +
    '<ShippingCost>7.45</ShippingCost><Recipient><Name><![CDATA[Zoë Ängström]]></Name>' +
    '<Address1>1 Main St</Address1><City>Austin</City><State>TX</State><PostalCode>73301</PostalCode>' +
    `<Country>US</Country></Recipient>${items}</ShipNotice>`
  );
}

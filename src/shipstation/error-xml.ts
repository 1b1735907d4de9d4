/**
 * Short, well-formed XML error bodies for the ShipStation endpoint (low volume, so xmlbuilder2):
 *
 *   <?xml version="1.0" encoding="utf-8"?>
 *   <Error><Code>unauthorized</Code><Message>…</Message></Error>
 *
 * ShipStation shows the body to the user (e.g. on Test Connection), so the message should say what
 * to do. Characters XML cannot carry are removed first (xmlbuilder2 would otherwise throw).
 */
import { create } from 'xmlbuilder2';
import { clean } from './xml.js';

export function errorXml(code: string, message: string): string {
  return create({ version: '1.0', encoding: 'utf-8' })
    .ele('Error')
    .ele('Code')
    .txt(clean(code))
    .up()
    .ele('Message')
    .txt(clean(message))
    .up()
    .end({ prettyPrint: false });
}

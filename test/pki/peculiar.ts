/**
 * @peculiar/x509 for cross-checks: an independent reader of what src/pki/x509 writes. Its
 * dependency injection (tsyringe) needs the Reflect metadata polyfill loaded first.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export { x509 };

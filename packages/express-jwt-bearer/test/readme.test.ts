/**
 * The README is part of the contract: its quick start runs as pasted (against the built package,
 * as a user would after `npm install`), and it documents every option and every error code.
 */
import { testAdapterReadme } from '../../../test/support/adapter-suites';
import { adapter } from './helpers';

testAdapterReadme(adapter);

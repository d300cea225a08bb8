import { lifecycleSuite } from '../../conformance/suites/lifecycle.js';

lifecycleSuite();

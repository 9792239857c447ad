// Test function of lambdahost's end-to-end tests as an ES module (handler
// esm.handler): index.js's function, answering module "esm".
import lib from './index.js';

export const handler = async (event, context) => ({ ...(await lib.handler(event, context)), module: 'esm' });

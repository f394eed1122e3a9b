// An Express app behind serverless-express: answers each event file given as an argument with one JSON line.
const fs = require('fs');
const express = require('express');
const serverlessExpress = require('@codegenie/serverless-express');

const app = express();
app.get('/healthcheck', (req, res) => res.json({ path: req.path, deep: req.query.deep ?? null, host: req.get('host') ?? null }));
const handler = serverlessExpress({ app });

(async () => {
  for (const path of process.argv.slice(2)) {
    const response = await handler(JSON.parse(fs.readFileSync(path, 'utf8')), {});
    console.log(JSON.stringify({ event: path, status: response.statusCode, body: JSON.parse(response.body) }));
  }
})();

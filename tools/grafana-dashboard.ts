/** `node build/tools/grafana-dashboard.js > bitrix-cluster.json`: the Grafana dashboard to import (see docs/operations.md, Monitoring). */
import { grafanaDashboard } from "../components/monitoring/grafanaDashboard";

process.stdout.write(`${JSON.stringify(grafanaDashboard(), null, 2)}\n`);

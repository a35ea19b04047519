/** `node build/tools/grafana-dashboard.js > bitrix-cluster.json`: the Grafana dashboard to import (see README, Monitoring). */
import { grafanaDashboard } from "../components/monitoring/grafanaDashboard";

process.stdout.write(`${JSON.stringify(grafanaDashboard(), null, 2)}\n`);

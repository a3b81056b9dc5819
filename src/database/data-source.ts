// The DataSource the TypeORM CLI uses (npm run typeorm -- migration:run), same database as the app.
import { DataSource } from 'typeorm';
import { appConfig } from '../config/app-config';
import { databaseOptions } from './database-options';

export default new DataSource(databaseOptions(appConfig().database));
